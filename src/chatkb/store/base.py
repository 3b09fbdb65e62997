"""The Store seam: a knowledge base's documents, chunks, vectors and keyword index.

Every store keeps one source of truth per knowledge base, and each write of a document is
atomic: a reader (or a crash) sees the previous version or the new one, never a mix.
Scores returned by ``dense_search`` are cosine similarities (-1..1) of a chunk's best
embedded text, by ``keyword_search`` BM25 (>= 0); both higher-is-better. ``key`` values
are store-chosen integers, stable until the chunk's document is replaced.

The contract every backend must meet is written as tests in ``tests/contracts/``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chatkb.deferred import deferred

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred


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
    keywords: tuple[str, ...]  # keyword tokens (chatkb.tokenize), in text order
    # Hashes of the sentence windows embedded for this chunk; empty: the chunk is embedded
    # whole, under ``text_hash``.
    windows: tuple[str, ...] = ()

    def embedded_hashes(self) -> tuple[str, ...]:
        """The texts whose vectors stand for this chunk in dense search."""
        return self.windows or (self.text_hash,)


@dataclass(frozen=True)
class ChunkEdit:
    """A chunk's new text and what derives from it (as in ``ChunkRecord``)."""

    text: str
    text_hash: str
    keywords: tuple[str, ...]
    windows: tuple[str, ...]


@dataclass(frozen=True)
class DocumentWrite:
    """One document's new version: what ``replace_document`` takes, for writing several."""

    document: DocumentRecord
    chunks: Sequence[ChunkRecord]
    vectors: Mapping[str, np.ndarray]


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


@dataclass(frozen=True)
class StoreStats:
    documents: int
    chunks: int
    chars: int
    bytes: int  # on local disk; 0 for a store on a server

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def require_vectors(
    document: DocumentRecord, chunks: Sequence[ChunkRecord], vectors: Mapping[str, np.ndarray]
) -> None:
    """Every store's check before a write: each embedded text of ``chunks`` has a vector."""
    missing = {h for c in chunks for h in c.embedded_hashes()} - set(vectors)
    if missing:
        raise ValueError(f"{len(missing)} embedded texts of {document.source} lack a vector")


class Store(Protocol):
    """Storage and search for one knowledge base.

    ``within`` restricts a search to chunks of the given document ids; the backend applies
    it inside the search (never by over-fetching), and an empty collection finds nothing.
    Unknown sources, chunk ids and keys are reported by ``None``/``False``/skipping, never
    by an exception; a backend that cannot be reached raises ``BackendUnavailableError``
    naming where it looked.
    """

    dim: int

    def replace_document(
        self,
        document: DocumentRecord,
        chunks: Sequence[ChunkRecord],
        vectors: Mapping[str, np.ndarray],
    ) -> None:
        """Insert or replace every chunk of ``document.source`` atomically; ``vectors``
        maps each of the chunks' ``embedded_hashes`` to its vector (``ValueError`` when one
        is missing, before anything is written)."""

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> None:
        """``replace_document`` of each write in order (a later write of a source wins),
        committed together where the backend has transactions: then the group is all or
        nothing, and a reader sees it appear at once. Without them (Milvus) the documents
        are written one after another, each still atomic. After an exception the caller
        may write each again on its own: a replace is idempotent."""

    def delete_document(self, source: str) -> bool:
        """Remove a document from every index; False when it was not there."""

    def find_document(self, source: str) -> DocumentRecord | None: ...

    def documents(self) -> list[DocumentRecord]:
        """Every document, by source."""

    def document_count(self) -> int:
        """How many documents there are (without listing them where the backend can)."""

    def chunks(self, doc_id: str) -> list[StoredChunk]:
        """A document's chunks in document order."""

    def chunk_records(self, doc_id: str) -> list[ChunkRecord]:
        """A document's chunks as written (keywords, windows), for copying to another store."""

    def find_chunk(self, chunk_id: str) -> StoredChunk | None: ...

    def edit_chunk(self, chunk_id: str, edit: ChunkEdit, vectors: Mapping[str, np.ndarray]) -> bool:
        """Replace one chunk's text, windows, vectors and keywords atomically; False when
        there is no such chunk."""

    def delete_chunk(self, chunk_id: str) -> bool:
        """Remove one chunk from every index; its document's chunk count follows."""

    def vectors(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of embedded texts, by hash; unknown hashes are left out."""

    def dense_search(
        self, query: np.ndarray, k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        """The ``k`` chunks nearest to a unit query vector, each scored by the cosine of its
        best embedded text (its best sentence window, or the whole chunk), best first."""

    def keyword_search(
        self, tokens: Sequence[str], k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        """The ``k`` best BM25 matches for any of the keyword tokens, best first."""

    def fetch(self, keys: Sequence[int]) -> list[StoredChunk]:
        """Chunks by key, in the order asked; unknown keys are skipped."""

    def stats(self) -> StoreStats: ...

    def revision(self) -> int | None:
        """A number that changes whenever a write commits, in any process, so that what is
        derived from the contents (the document list, each script's documents) can be kept
        until then; None when the backend cannot tell cheaply, and nothing is kept."""

    def maintain(self) -> None:
        """After a batch of writes: drop what nothing uses, bring derived indexes up to date."""

    def check_consistency(self) -> list[str]:
        """Problems found between the store's indexes; empty when consistent."""

    def close(self) -> None: ...
