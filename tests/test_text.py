"""The CJK ranges of chatkb.text, and the token counts of /v1 built on them."""

from __future__ import annotations

import re

from chatkb.server.openai_shape import count_tokens
from chatkb.text import CJK_LETTERS, CJK_WIDE, IDEOGRAPHS


def _chars(ranges: str) -> set[str]:
    pattern = re.compile(f"[{ranges}]")
    return {chr(c) for c in range(0x2E00, 0x10000) if pattern.match(chr(c))}


def test_each_set_contains_the_narrower_one() -> None:
    assert _chars(IDEOGRAPHS) < _chars(CJK_LETTERS) < _chars(CJK_WIDE)
    assert {"年", "か", "カ", "한", "豈"} <= _chars(CJK_LETTERS)
    assert {"。", "，", "Ａ"} <= _chars(CJK_WIDE) - _chars(CJK_LETTERS)
    assert not _chars(CJK_LETTERS) & set("abcé-")


def test_every_cjk_letter_counts_one_token_and_words_count_one_each() -> None:
    assert count_tokens("年假几天？") == 5
    assert count_tokens("Hello, world!") == 4
    # A compatibility ideograph counts alone like any other, not as a word with its neighbours.
    assert count_tokens("豈年") == 2
