"""Keyword tokens for BM25: jieba words plus character bigrams for Chinese, stemmed words
for Western scripts.

Words come from jieba's dictionary and rules as implemented by jieba-rs (``rjieba``), which
segments exactly as the Python ``jieba`` does (tests/test_tokenize.py compares them on the
dev corpora) at about fifteen times the speed; stems from Snowball, through its C library
(PyStemmer) where installed, again with identical output.

The same function tokenises documents and queries, so both sides always agree. Tokens are
lower-case and made only of letters and digits, so the keyword index can store them
space-separated and its own tokenizer splits them back unchanged.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import snowballstemmer

from chatkb.text import CJK_LETTERS


@cache
def _runs() -> re.Pattern[str]:
    """Runs of CJK ideographs (and kana/hangul) in the first group, or of letters/digits of
    other scripts in the second: one pass tells a run's script without testing it again.
    Compiled at first use: the compiler takes 15 ms over the CJK ranges, which a command
    that tokenizes nothing (an unchanged re-add) need not pay."""
    return re.compile(rf"([{CJK_LETTERS}]+)|([^\W_{CJK_LETTERS}]+)")


_EN_STOP = frozenset(
    "a an and are as at be been but by did do does for from had has have how i if in into is it"
    " its of on or that the their them there these they this to was were what when where which"
    " who whom whose why will with would you your".split()
)
_ZH_STOP = frozenset(
    "的 了 是 在 和 与 及 或 也 就 都 而 并 被 把 对 从 以 之 其 这 那 有 为 于 中 上 下 个"
    " 吗 呢 吧 啊 什么 哪 哪个 哪些 哪里 哪儿 多少 怎么 怎样 如何 为什么 谁 何 几 是否"
    " 一个 一种 我 你 他 她 它 我们 你们 他们 请问".split()
)


def tokenize(text: str, *, drop_stopwords: bool = False) -> list[str]:
    """Keyword tokens of ``text`` in order; stopwords removed only when asked (queries).

    Words come first, then the character bigrams of the CJK runs.
    """
    tokens, pairs = _words(text, drop_stopwords, bigrams=True)
    return tokens + pairs


def words(text: str, *, drop_stopwords: bool = False) -> list[str]:
    """The word tokens alone (no bigrams): jieba words and stemmed Western words."""
    return _words(text, drop_stopwords, bigrams=False)[0]


def _words(text: str, drop_stopwords: bool, *, bigrams: bool) -> tuple[list[str], list[str]]:
    tokens: list[str] = []
    pairs: list[str] = []
    for cjk, other in _runs().findall(text.lower()):
        if cjk:
            tokens.extend(_cjk_words(cjk))
            if bigrams:
                pairs.extend(_bigrams(cjk))
        else:
            tokens.append(_stem(other))
    if drop_stopwords:
        kept = [t for t in tokens if t not in _EN_STOP and t not in _ZH_STOP]
        return kept or tokens, pairs
    return tokens, pairs


def _bigrams(run: str) -> list[str]:
    """Overlapping character pairs: they match names and terms that jieba segments
    differently in the question and in the document (+0.008 MRR@10 on zh-dev, see
    docs/retrieval.md)."""
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _cjk_words(run: str) -> list[str]:
    # Search mode also emits the shorter words inside long compounds (中华人民共和国 → 中华,
    # 人民, 共和国 …), so a query that uses a part still matches the whole. HMM on: words
    # outside the dictionary (names) are found as jieba finds them.
    words = [w for w in _jieba().cut_for_search(run, True) if w.strip()]
    return words or [run]


def preload() -> None:
    """Load jieba's dictionary now (a server at startup), not at the first Chinese text."""
    _jieba()


@lru_cache(maxsize=1)
def _jieba() -> ModuleType:
    # Imported at the first Chinese text: loading its dictionary is most of this module's
    # import cost, which a command that tokenizes nothing (an unchanged re-add) never pays.
    import rjieba

    return rjieba


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    if not word.isascii() or word.isdigit() or len(word) < 4:
        return word
    stemmed: str = _stemmer().stemWord(word)
    return stemmed


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def is_cjk_text(text: str) -> bool:
    """Whether ``text`` is written mostly in a CJK script (a fifth of its letters or more).

    Decides which documents and questions are "Chinese" for cross-lingual search
    (chatkb.scripts); a few Latin names in Chinese prose do not change it, nor do a few
    ideographs in English."""
    runs = _runs().findall(text)
    cjk = sum(len(c) for c, _ in runs)
    letters = cjk + sum(len(other) for _, other in runs)
    return letters > 0 and cjk * 5 >= letters
