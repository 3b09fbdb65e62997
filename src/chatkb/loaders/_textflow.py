"""Turning hard-wrapped lines (PDF text layers, OCR output) into paragraphs."""

from __future__ import annotations

import re

from chatkb.text import CJK_WIDE

_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)
# Soft hyphens and the markers some PDF producers leave for them; form feeds; NULs.
_INVISIBLE = re.compile("[\u00ad\u0002\ufffe\u0000\f]")
_CJK = re.compile(f"[{CJK_WIDE}]")
_SENTENCE_END = tuple(".!?;:。！？；：」』”）)")
_SHORT_LINE = 0.7  # a line shorter than this share of a full line ends its paragraph


def clean_text(text: str) -> str:
    """Unify line ends, expand Latin ligatures (so 'Unified' is searchable), drop debris."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_LIGATURES)
    return _INVISIBLE.sub("", text)


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines: no space between CJK characters, de-hyphenate English words."""
    text = ""
    for line in lines:
        if not text:
            text = line
        elif text.endswith("-") and line[:1].islower():
            text = text[:-1] + line
        elif _CJK.match(text[-1]) or _CJK.match(line[0]):
            text += line
        else:
            text += " " + line
    return text


def reflow(text: str) -> list[str]:
    """Paragraphs from wrapped lines: a blank line or a short line ends a paragraph."""
    lines = [" ".join(line.split()) for line in clean_text(text).split("\n")]
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return []
    full = lengths[int(len(lengths) * 0.8)]
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        if current and (not line or len(line) < _SHORT_LINE * full or _ends_block(line, full)):
            paragraphs.append(join_lines(current))
            current = []
    if current:
        paragraphs.append(join_lines(current))
    return paragraphs


def _ends_block(line: str, full: int) -> bool:
    return line.endswith(_SENTENCE_END) and len(line) < 0.9 * full
