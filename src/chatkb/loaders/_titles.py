"""Chinese title enhancement: short title-like lines in formats without real headings.

Plain text and PDF text layers carry no heading markup, so a line such as ``第一章 绪论``
or ``2.1 模型评估`` would otherwise be an ordinary paragraph. When
``LoaderOptions.zh_title_enhance`` is on, such lines become heading blocks, so the
splitter keeps them with the text below and records them in each chunk's heading path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatkb.models import Block
from chatkb.text import IDEOGRAPHS

_MAX_TITLE_CHARS = 25
_NUMBERED = (  # (pattern, heading level)
    (re.compile(r"^第[一二三四五六七八九十百零〇\d]+[章篇部]"), 1),
    (re.compile(r"^第[一二三四五六七八九十百零〇\d]+[节條条]"), 2),
    (re.compile(r"^[一二三四五六七八九十]+[、.．]"), 1),
    (re.compile(r"^[(（][一二三四五六七八九十]+[)）]"), 2),
    (re.compile(r"^\d+(\.\d+){2,}\.?\s*\S"), 3),
    (re.compile(r"^\d+\.\d+\.?\s*\S"), 2),
    (re.compile(rf"^\d{{1,2}}(?:[、.．]\s*|\s+)[{IDEOGRAPHS}]"), 1),
)
_CHINESE = re.compile(f"[{IDEOGRAPHS}]")
_TRAILING_PUNCTUATION = tuple("。，、；：！？…,.;:!?")


def title_level(line: str) -> int:
    """Heading level (1-3) if ``line`` looks like a Chinese title, else 0."""
    text = line.strip()
    if not 2 <= len(text) <= _MAX_TITLE_CHARS or "\n" in text:
        return 0
    if text.endswith(_TRAILING_PUNCTUATION) or not _CHINESE.search(text):
        return 0
    for pattern, level in _NUMBERED:
        if pattern.match(text):
            return level
    return 0


def enhance_titles(blocks: Iterable[Block]) -> list[Block]:
    """Paragraphs that are one title-like line become headings; a leading title line of a
    longer paragraph is split off as its own heading."""
    out: list[Block] = []
    for block in blocks:
        if block.kind != "paragraph":
            out.append(block)
            continue
        first, _, rest = block.text.partition("\n")
        level = title_level(first)
        if not level:
            out.append(block)
            continue
        out.append(Block(first.strip(), "heading", page=block.page, level=level))
        if rest.strip():
            out.append(Block(rest.strip(), page=block.page))
    return out
