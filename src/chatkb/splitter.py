"""Chinese-aware splitting: sections by heading, then paragraphs, then sentences, then words.

Every chunk is an exact slice of ``LoadedDocument.text`` (so ``start``/``end`` are true
offsets), never crosses a heading, and never cuts an English word. Overlap is made of whole
sentences taken from the end of the previous chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from chatkb.models import Block, Chunk, LoadedDocument

# A sentence ends after CJK or Western terminal punctuation (plus closing quotes/brackets),
# or at a line break. Western "." only counts when followed by whitespace (not "3.14").
# A full stop after an initial or a short title ("Nicholas E. Golovin", "Dr. Li") does
# not end a sentence: cutting there split names across chunks (measured on en-dev).
# The dot comes first and the look-behinds check what precedes it: written before the dot,
# they ran at every position of the text, and the splitter spent most of its time there.
_FULL_STOP_DOT = r"\.(?<!\b[A-Z]\.)(?<!\b(?:Mr|Ms|Dr|St|Jr|Sr|vs|No)\.)(?<!\bMrs\.)"
# ASCII ! ? ; end a sentence only before a space, a closing quote, the end or a CJK
# character: not in "![image](…)", "page?id=3" or "a;b".
_WESTERN_END = r"[!?;]+(?=[\s”’\"'」』）)\]]|$|[^\x00-\x7f])"
_CLOSERS = r"[”’\"'」』）)\]]*"
_SENTENCE_END = re.compile(
    rf"(?:[。！？；…]+|{_WESTERN_END}){_CLOSERS}\s*"
    rf"|{_FULL_STOP_DOT}[”’\"')\]]*(?:\s+|$)"
    r"|\n+"
)
_FULL_STOP = re.compile(
    rf"(?:[。！？…]+|{_WESTERN_END.replace(';', '')}){_CLOSERS}\s*"
    rf"|{_FULL_STOP_DOT}[”’\"')\]]*(?:\s+|$)|\n+"
)
_SOFT_BREAK = re.compile(r"[，、,：:]\s*|\s+")


class Span(NamedTuple):
    """Offsets into the document's text. A tuple: a chunk is cut from thousands of them, and
    a tuple is made several times faster than a frozen dataclass."""

    start: int
    end: int


@dataclass(frozen=True)
class _Section:
    heading_path: tuple[str, ...]
    spans: tuple[tuple[Span, Block], ...]


def split(document: LoadedDocument, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split a loaded document into chunks of at most ``chunk_size`` characters."""
    text = document.text
    chunks: list[Chunk] = []
    for section in _sections(document):
        units = [u for span, block in section.spans for u in _units(text, span, block, chunk_size)]
        for start, end in _pack(text, units, chunk_size, chunk_overlap):
            page = _page_at(section, start)
            chunks.append(
                Chunk(
                    index=len(chunks),
                    text=text[start:end],
                    start=start,
                    end=end,
                    page=page,
                    heading_path=section.heading_path,
                )
            )
    return chunks


_TITLE_MAX_CHARS = 80
_TITLE_END = tuple("。！？；：，、.!?;:,")


def _with_title(document: LoadedDocument) -> tuple[Block, ...]:
    """Blocks, with a leading title line promoted to a heading where nothing marks one.

    Plain text often starts with its title on a line of its own ("Apollo program", "马飚").
    As a heading it travels with every chunk (``heading_path``), so a chunk deep in the
    document is still found by the name of what it is about (measured in docs/retrieval.md).
    """
    blocks = document.blocks
    if document.title or len(blocks) < 2 or any(b.kind == "heading" for b in blocks):
        return blocks
    first = blocks[0]
    text = first.text.strip()
    looks_like_title = (
        first.kind == "paragraph"
        and 0 < len(text) <= _TITLE_MAX_CHARS
        and "\n" not in text
        and not text.endswith(_TITLE_END)
    )
    if not looks_like_title:
        return blocks
    return (Block(first.text, "heading", page=first.page, level=1), *blocks[1:])


def _sections(document: LoadedDocument) -> Iterator[_Section]:
    """Group blocks under their heading; a heading starts a new section and belongs to it."""
    stack: list[tuple[int, str]] = []
    current: list[tuple[Span, Block]] = []
    path: tuple[str, ...] = ()
    offset = 0
    for block in _with_title(document):
        span = Span(offset, offset + len(block.text))
        offset = span.end + len(LoadedDocument.BLOCK_SEPARATOR)
        if block.kind == "heading":
            if current:
                yield _Section(path, tuple(current))
            stack = [(lvl, title) for lvl, title in stack if lvl < block.level]
            stack.append((block.level, block.text.strip()))
            path, current = tuple(title for _, title in stack), []
        if block.text.strip():
            current.append((span, block))
    if current:
        yield _Section(path, tuple(current))


def _units(text: str, span: Span, block: Block, chunk_size: int) -> list[Span]:
    """Pieces no longer than ``chunk_size``: the whole block, else sentences or table rows."""
    if span.end - span.start <= chunk_size:
        return [span]
    pieces = _table_rows(text, span) if block.kind == "table" else _sentences(text, span)
    return [part for piece in pieces for part in _hard_split(text, piece, chunk_size)]


def _sentences(text: str, span: Span) -> list[Span]:
    spans, start = [], span.start
    for match in _SENTENCE_END.finditer(text, span.start, span.end):
        if match.end() > start:
            spans.append(Span(start, match.end()))
            start = match.end()
    if start < span.end:
        spans.append(Span(start, span.end))
    return [_trim(text, s) for s in spans if text[s.start : s.end].strip()]


def _table_rows(text: str, span: Span) -> list[Span]:
    rows, start = [], span.start
    for index in range(span.start, span.end):
        if text[index] == "\n":
            rows.append(Span(start, index + 1))
            start = index + 1
    rows.append(Span(start, span.end))
    return [_trim(text, row) for row in rows if text[row.start : row.end].strip()]


def _hard_split(text: str, span: Span, chunk_size: int) -> Iterator[Span]:
    """Cut an over-long sentence at a comma or space; CJK runs may be cut anywhere."""
    start = span.start
    while span.end - start > chunk_size:
        limit = start + chunk_size
        cut = max(
            (m.end() for m in _SOFT_BREAK.finditer(text, start + chunk_size // 2, limit)),
            default=limit,
        )
        yield _trim(text, Span(start, cut))
        start = cut
    if start < span.end:
        yield _trim(text, Span(start, span.end))


def _trim(text: str, span: Span) -> Span:
    """The span without the white space at its ends."""
    start, end = span
    piece = text[start:end]
    kept = piece.strip()
    if len(kept) == len(piece):
        return span
    if not kept:
        return Span(end, end)  # as if the start had moved up to the end
    start += len(piece) - len(piece.lstrip())
    return Span(start, start + len(kept))


def _pack(text: str, units: list[Span], chunk_size: int, overlap: int) -> Iterator[tuple[int, int]]:
    """Greedily join consecutive units up to ``chunk_size``; restart with trailing overlap."""
    first = 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and units[last + 1].end - units[first].start <= chunk_size:
            last += 1
        yield units[first].start, units[last].end
        if last + 1 >= len(units):
            return
        first = _overlap_start(units, first, last, overlap=overlap, chunk_size=chunk_size)


def _overlap_start(
    units: list[Span], first: int, last: int, *, overlap: int, chunk_size: int
) -> int:
    """The earliest unit after ``first`` whose tail up to ``last`` fits in ``overlap``."""
    start = last + 1
    while start - 1 > first and units[last].end - units[start - 1].start <= overlap:
        start -= 1
    # The next chunk must still reach the unit after ``last``, or it would repeat this one.
    while start <= last and units[last + 1].end - units[start].start > chunk_size:
        start += 1
    return start


def _page_at(section: _Section, offset: int) -> int | None:
    page = None
    for span, block in section.spans:
        if span.start > offset:
            break
        page = block.page
    return page


def sentences(text: str) -> list[str]:
    """Whole sentences of ``text``: ended by 。！？!?… or a full stop, or at a line break.

    Unlike chunking, semicolons do not end a sentence here: a quoted answer should keep
    "X，壮族，广西田阳人；中央民族学院政治系毕业。" together.
    """
    spans, start = [], 0
    for match in _FULL_STOP.finditer(text):
        spans.append(_trim(text, Span(start, match.end())))
        start = match.end()
    spans.append(_trim(text, Span(start, len(text))))
    return [text[s.start : s.end] for s in spans if s.end > s.start]


def with_headings(text: str, headings: Sequence[str | None]) -> str:
    """``text`` under the headings (and title) it does not already start with.

    This is what gets embedded and keyword-indexed, and what rerankers and the relevance
    decision read: "It was founded in 1911" is findable by the company's name only when the
    heading that names it travels with it.
    """
    context = list(dict.fromkeys(h for h in headings if h and h not in text[:200]))
    return " > ".join(context) + "\n" + text if context else text


def sentence_windows(text: str, max_chars: int) -> list[str]:
    """``text`` cut into runs of whole sentences of at most ``max_chars`` (one longer
    sentence stands alone): what gets embedded for a chunk.

    A question is usually about one or two sentences; a 600-character chunk's single vector
    blurs them with their neighbours, while a window's vector does not (docs/retrieval.md
    #sentence-windows). Tables stay whole: a row means little without its header. ``[text]``
    when windows are off (``max_chars`` 0) or the text already fits.
    """
    if max_chars <= 0 or len(text) <= max_chars or _is_table(text):
        return [text]
    spans, start = [], 0
    for match in _FULL_STOP.finditer(text):
        spans.append(_trim(text, Span(start, match.end())))
        start = match.end()
    spans.append(_trim(text, Span(start, len(text))))
    windows: list[str] = []
    first: Span | None = None
    last: Span | None = None
    for span in (s for s in spans if s.end > s.start):
        if first is not None and last is not None and span.end - first.start > max_chars:
            windows.append(text[first.start : last.end])
            first = None
        first, last = first or span, span
    if first is not None and last is not None:
        windows.append(text[first.start : last.end])
    return windows


def _is_table(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return sum(line.lstrip().startswith("|") for line in lines) * 2 > len(lines)
