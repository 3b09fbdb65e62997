"""The Store seam: a knowledge base's documents, chunks, vectors and keyword index.

Every store keeps one transactional source of truth per knowledge base. Scores returned by
``dense_search`` are cosine similarities (-1..1), by ``keyword_search`` BM25 (>= 0); both
higher-is-better. ``chunk_key`` values are store-internal integers, stable until the
chunk's document is replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    path: str
    file_type: str
    title: str | None
    content_hash: str
    size: int
    chunk_count: int
    chars: int
    added_at: str
    updated_at: str

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ChunkRecord:
    chunk_id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int
    page: int | None
    heading_path: tuple[str, ...]
    text_hash: str
    keywords: str  # space-separated keyword tokens
    # Hashes of the sentence windows embedded for this chunk; empty: the chunk is embedded
    # whole, under ``text_hash``.
    windows: tuple[str, ...] = ()

    def embedded_hashes(self) -> tuple[str, ...]:
        """The texts whose vectors stand for this chunk in dense search."""
        return self.windows or (self.text_hash,)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as search returns it, joined with its document's source."""

    key: int
    chunk_id: str
    doc_id: str
    source: str
    text: str
    start: int
    end: int
    page: int | None
    heading_path: tuple[str, ...]


@dataclass(frozen=True)
class ScoredKey:
    key: int
    score: float


class Store(Protocol):
    """Storage and search for one knowledge base. Writes are per document and atomic."""

    def replace_document(
        self,
        document: DocumentRecord,
        chunks: Sequence[ChunkRecord],
        vectors: Mapping[str, np.ndarray],
    ) -> None:
        """Insert or replace every chunk of ``document.source`` in one transaction;
        ``vectors`` maps each of the chunks' ``embedded_hashes`` to its vector."""

    def delete_document(self, source: str) -> bool:
        """Remove a document from every index; False when it was not there."""

    def dense_search(self, query: np.ndarray, k: int) -> list[ScoredKey]:
        """The ``k`` chunks nearest to a unit query vector, by the cosine of each chunk's
        nearest embedded text (its best sentence window, or the whole chunk)."""

    def keyword_search(self, tokens: Sequence[str], k: int) -> list[ScoredKey]:
        """The ``k`` best BM25 matches for keyword tokens."""

    def fetch(self, keys: Sequence[int]) -> list[StoredChunk]:
        """Chunks by key, in the order asked; unknown keys are skipped."""
