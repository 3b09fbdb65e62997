"""Plain data that flows between the seams: loaded blocks, chunks, hits, answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "table", "code"]


@dataclass(frozen=True)
class Block:
    """One unit of extracted text, in reading order.

    Loaders emit blocks; the splitter never merges text across a heading and keeps tables
    whole where they fit. ``level`` is the heading depth (1 = top) for headings, else 0.
    ``page`` is 1-based for paginated formats (PDF pages, slides, sheets), else None.
    """

    text: str
    kind: BlockKind = "paragraph"
    page: int | None = None
    level: int = 0


@dataclass(frozen=True)
class LoadedDocument:
    """What a loader returns: the blocks of one file plus a few facts about it."""

    blocks: tuple[Block, ...]
    file_type: str
    title: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    BLOCK_SEPARATOR = "\n\n"

    @property
    def text(self) -> str:
        """The extracted document text; chunk offsets index into this string."""
        return self.BLOCK_SEPARATOR.join(block.text for block in self.blocks)


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document.

    ``start``/``end`` are character offsets into ``LoadedDocument.text``; ``heading_path``
    lists the enclosing headings, outermost first.
    """

    index: int
    text: str
    start: int
    end: int
    page: int | None = None
    heading_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. ``score`` is higher-is-better on a 0..1 scale (docs/retrieval.md)."""

    rank: int
    score: float
    text: str
    source: str
    doc_id: str
    chunk_id: str
    page: int | None
    start: int
    end: int
    heading_path: tuple[str, ...] = ()
    dense_score: float | None = None
    keyword_score: float | None = None
    kb: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "text": self.text,
            "source": self.source,
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "heading_path": list(self.heading_path),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "keyword_score": None if self.keyword_score is None else round(self.keyword_score, 6),
            "kb": self.kb,
        }


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: ``[n]`` in the answer text refers to it."""

    n: int
    source: str
    page: int | None
    text: str
    score: float
    doc_id: str
    chunk_id: str
    start: int
    end: int

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        return cls(
            n=n,
            source=hit.source,
            page=hit.page,
            text=hit.text,
            score=hit.score,
            doc_id=hit.doc_id,
            chunk_id=hit.chunk_id,
            start=hit.start,
            end=hit.end,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "source": self.source,
            "page": self.page,
            "text": self.text,
            "score": round(self.score, 6),
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Message:
    """One turn of a conversation, OpenAI style."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Answer:
    """A finished answer. ``found`` is False when nothing relevant was retrieved;
    ``grounded`` is True only when the answer cites at least one passage by ``[n]``
    (``citations`` holds exactly the cited ones)."""

    answer: str
    citations: tuple[Citation, ...]
    model: str
    extractive: bool
    found: bool
    grounded: bool = False

    def sources(self) -> tuple[Source, ...]:
        """The cited documents, each once, with its cited passages in citation order."""
        grouped: dict[tuple[str, str], list[Citation]] = {}
        for citation in self.citations:
            grouped.setdefault((citation.doc_id, citation.source), []).append(citation)
        return tuple(
            Source(source, doc_id, tuple(passages))
            for (doc_id, source), passages in grouped.items()
        )

    def to_json(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "citations": [citation.to_json() for citation in self.citations],
            "sources": [source.to_json() for source in self.sources()],
            "model": self.model,
            "extractive": self.extractive,
            "found": self.found,
            "grounded": self.grounded,
        }


@dataclass(frozen=True)
class Source:
    """One cited document and the passages of it that an answer cites."""

    source: str
    doc_id: str
    passages: tuple[Citation, ...]

    @property
    def label(self) -> str:
        """``file.pdf, p. 3, 5``: the document once, the pages of its cited passages."""
        pages = sorted({c.page for c in self.passages if c.page})
        return self.source + (", p. " + ", ".join(map(str, pages)) if pages else "")

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "doc_id": self.doc_id,
            "citations": [c.n for c in self.passages],
        }
