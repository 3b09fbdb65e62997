"""The default store: one SQLite file per knowledge base (catalog, vectors, FTS5 keyword
index and the change log, all in one transaction per document) plus two derived indexes that
follow that log: the dense index (``dense.py``) and, for large knowledge bases, a tantivy
keyword index (``keyword_index.py``)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from chatkb._sqlite import Connections, transaction
from chatkb.deferred import deferred
from chatkb.errors import EmbedderMismatchError
from chatkb.store import dense_log
from chatkb.store.base import (
    ChunkEdit,
    ChunkRecord,
    DocumentRecord,
    DocumentWrite,
    ScoredKey,
    StoredChunk,
    StoreStats,
    require_vectors,
)
from chatkb.store.dense import DenseIndex, DenseTuning
from chatkb.store.kept import KeptUntilWrite

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

# Chunks from which keyword search leaves FTS5 for the derived keyword index (the setting
# store.embedded.keyword_index_min_chunks).
KEYWORD_INDEX_MIN_CHUNKS = 50_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
    file_type TEXT NOT NULL, title TEXT, content_hash TEXT NOT NULL, size INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL, chars INTEGER NOT NULL,
    added_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    page INTEGER, heading_path TEXT NOT NULL, text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_by_hash ON chunks(text_hash);
-- Vectors are keyed by the hash of the text that was embedded, so identical text is
-- embedded once, and a crashed ingest finds its finished batches here on the next run.
CREATE TABLE IF NOT EXISTS vectors (text_hash TEXT PRIMARY KEY, vector BLOB NOT NULL);
-- A chunk's sentence windows, each embedded on its own (docs/retrieval.md#sentence-windows);
-- a chunk without rows here is embedded whole, under its own text_hash.
CREATE TABLE IF NOT EXISTS windows (
    chunk INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE, text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS windows_by_chunk ON windows(chunk);
CREATE INDEX IF NOT EXISTS windows_by_hash ON windows(text_hash);
CREATE VIRTUAL TABLE IF NOT EXISTS keywords USING fts5(
    tokens, tokenize = "unicode61 remove_diacritics 0"
);
"""

_CHUNK_COLUMNS = (
    'c.id, c.chunk_id, c.doc_id, d.source, c.text, c.start, c."end", c.page, c.heading_path'
)
# ``within`` arrives as one JSON array parameter, however many documents it names.
_WITHIN = "c.doc_id IN (SELECT value FROM json_each(?))"
# Document sets whose chunk keys are kept until the next write (``_keys_within``).
_WITHIN_KEPT = 8


class EmbeddedStore:
    """SQLite (WAL) catalog + FTS5 BM25 + a dense index that follows the catalog's log.
    Safe across processes."""

    def __init__(
        self,
        directory: Path,
        dim: int,
        tuning: DenseTuning | None = None,
        *,
        keyword_index_min_chunks: int = KEYWORD_INDEX_MIN_CHUNKS,
    ) -> None:
        self.directory = directory
        self.dim = dim
        self.path = directory / "catalog.sqlite"
        self._connections = Connections(self.path)
        self._within_kept: KeptUntilWrite[tuple[str, ...]] = KeptUntilWrite(most=_WITHIN_KEPT)
        self._keywords = _keyword_tier(directory, self.connection, keyword_index_min_chunks)
        self._dense = DenseIndex(
            directory,
            dim,
            self.connection,
            tuning or DenseTuning(),
            log_hold=self._keywords.log_hold,
        )
        # Idempotent; executescript commits itself.
        self.connection().executescript(SCHEMA + dense_log.SCHEMA)
        self._check_dim()

    def _check_dim(self) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('dim', ?)", (str(self.dim),)
            )
            recorded = int(conn.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()[0])
        if recorded != self.dim:
            raise EmbedderMismatchError(
                f"the store at {self.path} holds {recorded}-d vectors, not {self.dim}-d; "
                "it belongs to another knowledge base"
            )

    # -- connections -------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        return self._connections.get()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with transaction(self.connection()) as conn:
            yield conn

    def close(self) -> None:
        self._keywords.close()
        self._dense.close()
        self._connections.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, which moves the revision on; the derived indexes learn of
        it (from the log) once committed."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('revision', 1) "
                "ON CONFLICT(key) DO UPDATE SET value = value + 1"
            )
            yield conn
        self._dense.written()
        self._keywords.written()

    # -- documents ---------------------------------------------------------------------------

    def find_document(self, source: str) -> DocumentRecord | None:
        row = (
            self.connection()
            .execute("SELECT * FROM documents WHERE source = ?", (source,))
            .fetchone()
        )
        return DocumentRecord(*row) if row else None

    def documents(self) -> list[DocumentRecord]:
        rows = self.connection().execute("SELECT * FROM documents ORDER BY source").fetchall()
        return [DocumentRecord(*row) for row in rows]

    def document_count(self) -> int:
        return int(self.connection().execute("SELECT count(*) FROM documents").fetchone()[0])

    def replace_document(
        self,
        document: DocumentRecord,
        chunks: Sequence[ChunkRecord],
        vectors: Mapping[str, np.ndarray],
    ) -> None:
        self.replace_documents([DocumentWrite(document, chunks, vectors)])

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> None:
        """One transaction for the whole group: a commit costs about as much as a small
        document's rows, so an ingest of many small files writes them together. The keyword
        rows of every document go last (``_write_keywords``)."""
        for write in writes:
            require_vectors(write.document, write.chunks, write.vectors)
        removed: list[int] = []  # keys whose keyword rows were there before the group
        added: dict[int, Sequence[str]] = {}  # keys whose keyword rows the group adds
        with self._write() as conn:
            for write in writes:
                for key in self._delete_rows(conn, write.document.source) or ():
                    # A source written twice in one group: its first version's rows have
                    # no keyword rows yet. (A key may come back: SQLite reuses the highest.)
                    if added.pop(key, None) is None:
                        removed.append(key)
                self._put_vectors(conn, write.vectors)
                conn.execute(
                    "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    tuple(write.document.__dict__.values()),
                )
                keys = [self._insert_chunk(conn, chunk) for chunk in write.chunks]
                self._put_windows(
                    conn,
                    [(k, h) for k, c in zip(keys, write.chunks, strict=True) for h in c.windows],
                )
                added.update(zip(keys, (chunk.keywords for chunk in write.chunks), strict=True))
            self._write_keywords(conn, removed, added.items())

    @staticmethod
    def _insert_chunk(conn: sqlite3.Connection, chunk: ChunkRecord) -> int:
        key = conn.execute(
            'INSERT INTO chunks(chunk_id, doc_id, idx, text, start, "end", page, '
            "heading_path, text_hash) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                chunk.chunk_id,
                chunk.doc_id,
                chunk.index,
                chunk.text,
                chunk.start,
                chunk.end,
                chunk.page,
                json.dumps(chunk.heading_path, ensure_ascii=False),
                chunk.text_hash,
            ),
        ).lastrowid
        assert key is not None
        return key

    @staticmethod
    def _write_keywords(
        conn: sqlite3.Connection,
        removed: Sequence[int] | None,
        added: Iterable[tuple[int, Sequence[str]]],
    ) -> None:
        """The FTS5 rows of a write, removed and added in its last two statements: once a
        transaction holds FTS5 changes, every later statement in it that fires a trigger
        (a chunk insert or delete) pays for FTS5 syncing them — measured at 190 µs a chunk
        against 30 µs with the keyword rows written last."""
        if removed:
            conn.execute(
                "DELETE FROM keywords WHERE rowid IN (SELECT value FROM json_each(?))",
                (json.dumps(list(removed)),),
            )
        conn.executemany(
            "INSERT INTO keywords(rowid, tokens) VALUES (?, ?)",
            ((key, " ".join(tokens)) for key, tokens in added),
        )

    def delete_document(self, source: str) -> bool:
        with self._write() as conn:
            removed = self._delete_rows(conn, source)
            if removed is None:
                return False
            self._write_keywords(conn, removed, ())
            return True

    def _delete_rows(self, conn: sqlite3.Connection, source: str) -> list[int] | None:
        """Delete a document and its chunks (their windows cascade); the keys of the chunks
        removed, whose keyword rows the caller removes last, or None: no such document."""
        row = conn.execute("SELECT doc_id FROM documents WHERE source = ?", (source,)).fetchone()
        if row is None:
            return None
        keys = [key for (key,) in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", row)]
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", row)
        conn.execute("DELETE FROM documents WHERE doc_id = ?", row)
        return keys

    @staticmethod
    def _put_windows(conn: sqlite3.Connection, rows: Sequence[tuple[int, str]]) -> None:
        """Window rows as (chunk key, text hash)."""
        conn.executemany("INSERT INTO windows(chunk, text_hash) VALUES (?, ?)", rows)

    # -- vectors -----------------------------------------------------------------------------

    def vectors(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(text_hashes))
        rows = self.connection().execute(
            "SELECT text_hash, vector FROM vectors WHERE text_hash IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(unique),),
        )
        for text_hash, blob in rows:
            found[text_hash] = np.frombuffer(blob, dtype=np.float32)
        return found

    @staticmethod
    def _put_vectors(conn: sqlite3.Connection, vectors: Mapping[str, np.ndarray]) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO vectors(text_hash, vector) VALUES (?, ?)",
            [(h, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
        )

    def prune_vectors(self) -> int:
        """Drop vectors no chunk uses any more (after a complete ingest or removal)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM vectors WHERE text_hash NOT IN (SELECT text_hash FROM chunks) "
                "AND text_hash NOT IN (SELECT text_hash FROM windows)"
            )
            return cursor.rowcount

    def maintain(self) -> None:
        self.prune_vectors()
        self.refresh_indexes()

    # -- search ------------------------------------------------------------------------------

    def dense_search(
        self, query: np.ndarray, k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        allowed = None if within is None else self._keys_within(within)
        return self._dense.search(query, k, allowed=allowed)

    def _keys_within(self, within: Collection[str]) -> np.ndarray:
        """The chunk keys of these documents, kept for the same documents until the next
        write: a cross-lingual search asks for each script's (thousands of documents) at
        every search, and listing them cost more than the search."""
        asked = tuple(within)

        def listed() -> np.ndarray:
            rows = self.connection().execute(
                f"SELECT c.id FROM chunks c WHERE {_WITHIN}", (json.dumps(list(asked)),)
            )
            return np.fromiter((row[0] for row in rows), dtype=np.int64)

        return self._within_kept.get(self.revision(), asked, listed)

    def refresh_indexes(self) -> None:
        """Bring derived indexes up to date now rather than at the next search (the
        keyword index first: the dense index's trim of the log waits for it)."""
        self._keywords.refresh()
        self._dense.refresh()

    def keyword_search(
        self, tokens: Sequence[str], k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        terms = list(dict.fromkeys(t for t in tokens if t))
        if not terms or (within is not None and not within):
            return []
        found = self._keywords.search(terms, k, within)
        if found is not None:
            return found
        return self._fts5_search(terms, k, within)

    def _fts5_search(
        self, terms: list[str], k: int, within: Collection[str] | None
    ) -> list[ScoredKey]:
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        scope, params = "", [query]
        if within is not None:
            scope = f"AND rowid IN (SELECT c.id FROM chunks c WHERE {_WITHIN}) "
            params.append(json.dumps(list(within)))
        rows = self.connection().execute(
            f"SELECT rowid, -bm25(keywords) FROM keywords WHERE keywords MATCH ? {scope}"
            "ORDER BY bm25(keywords) LIMIT ?",
            (*params, k),
        )
        return [ScoredKey(int(key), float(score)) for key, score in rows]

    def fetch(self, keys: Sequence[int]) -> list[StoredChunk]:
        if not keys:
            return []
        rows = self.connection().execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE c.id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(k) for k in keys]),),
        )
        by_key = {row[0]: _stored_chunk(row) for row in rows}
        return [by_key[key] for key in keys if key in by_key]

    # -- chunks ------------------------------------------------------------------------------

    def chunks(self, doc_id: str) -> list[StoredChunk]:
        rows = self.connection().execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE c.doc_id = ? ORDER BY c.idx",
            (doc_id,),
        )
        return [_stored_chunk(row) for row in rows]

    def chunk_records(self, doc_id: str) -> list[ChunkRecord]:
        conn = self.connection()
        rows = conn.execute(
            'SELECT c.id, c.chunk_id, c.doc_id, c.idx, c.text, c.start, c."end", c.page, '
            "c.heading_path, c.text_hash, k.tokens FROM chunks c "
            "JOIN keywords k ON k.rowid = c.id WHERE c.doc_id = ? ORDER BY c.idx",
            (doc_id,),
        ).fetchall()
        return [_chunk_record(conn, row) for row in rows]

    def find_chunk(self, chunk_id: str) -> StoredChunk | None:
        row = (
            self.connection()
            .execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                "WHERE c.chunk_id = ?",
                (chunk_id,),
            )
            .fetchone()
        )
        return _stored_chunk(row) if row else None

    def edit_chunk(self, chunk_id: str, edit: ChunkEdit, vectors: Mapping[str, np.ndarray]) -> bool:
        with self._write() as conn:
            row = conn.execute("SELECT id FROM chunks WHERE chunk_id = ?", (chunk_id,)).fetchone()
            if row is None:
                return False
            self._put_vectors(conn, vectors)
            conn.execute(
                "UPDATE chunks SET text = ?, text_hash = ? WHERE id = ?",
                (edit.text, edit.text_hash, row[0]),
            )
            conn.execute("DELETE FROM windows WHERE chunk = ?", row)
            self._put_windows(conn, [(row[0], h) for h in edit.windows])
            self._write_keywords(conn, [row[0]], [(row[0], edit.keywords)])
        return True

    def delete_chunk(self, chunk_id: str) -> bool:
        with self._write() as conn:
            row = conn.execute(
                "SELECT id, doc_id FROM chunks WHERE chunk_id = ?", (chunk_id,)
            ).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM chunks WHERE id = ?", (row[0],))
            conn.execute(
                "UPDATE documents SET chunk_count = chunk_count - 1 WHERE doc_id = ?", (row[1],)
            )
            self._write_keywords(conn, [row[0]], ())
        return True

    def revision(self) -> int:
        row = self.connection().execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def stats(self) -> StoreStats:
        conn = self.connection()
        docs, chars = conn.execute(
            "SELECT count(*), coalesce(sum(chars),0) FROM documents"
        ).fetchone()
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        size = sum(p.stat().st_size for p in self._files())
        return StoreStats(documents=docs, chunks=chunks, chars=chars, bytes=size)

    def _files(self) -> list[Path]:
        """The store's files: the catalog, the dense index's checkpoints and the keyword
        index."""
        files = [p for p in self.directory.iterdir() if p.is_file()]
        for derived in (self.directory / "dense", self.directory / "keywords"):
            if derived.is_dir():
                files += [p for p in derived.rglob("*") if p.is_file()]
        return files

    def check_consistency(self) -> list[str]:
        conn = self.connection()
        problems = []
        for name, sql in _CHECKS.items():
            count = conn.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} {name}")
        return problems


class _KeywordTier(Protocol):
    """What the store asks of its keyword index (``keyword_index.KeywordIndex``)."""

    def search(
        self, terms: Sequence[str], k: int, within: Collection[str] | None
    ) -> list[ScoredKey] | None: ...
    def log_hold(self) -> int | None: ...
    def written(self) -> None: ...
    def refresh(self) -> None: ...
    def close(self) -> None: ...


class _FTS5Only:
    """Without the tantivy wheel: FTS5 answers at every size."""

    def search(
        self, terms: Sequence[str], k: int, within: Collection[str] | None
    ) -> list[ScoredKey] | None:
        return None

    def log_hold(self) -> int | None:
        return None

    def written(self) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def _keyword_tier(
    directory: Path, connect: Callable[[], sqlite3.Connection], min_chunks: int
) -> _KeywordTier:
    if importlib.util.find_spec("tantivy") is None:  # a default dependency, but optional here
        return _FTS5Only()
    from chatkb.store.keyword_index import KeywordIndex  # tantivy itself at its first use

    return KeywordIndex(directory, connect, min_chunks)


_CHECKS = {
    "chunks without a document": "SELECT count(*) FROM chunks WHERE doc_id NOT IN "
    "(SELECT doc_id FROM documents)",
    "chunks without a vector": "SELECT count(*) FROM chunks c WHERE text_hash NOT IN "
    "(SELECT text_hash FROM vectors) AND NOT EXISTS "
    "(SELECT 1 FROM windows w WHERE w.chunk = c.id)",
    "windows without a vector": "SELECT count(*) FROM windows WHERE text_hash NOT IN "
    "(SELECT text_hash FROM vectors)",
    "windows without a chunk": "SELECT count(*) FROM windows WHERE chunk NOT IN "
    "(SELECT id FROM chunks)",
    "keyword rows without a chunk": "SELECT count(*) FROM keywords WHERE rowid NOT IN "
    "(SELECT id FROM chunks)",
    "chunks without keyword rows": "SELECT count(*) FROM chunks WHERE id NOT IN "
    "(SELECT rowid FROM keywords)",
    "documents whose chunk count is wrong": "SELECT count(*) FROM documents d WHERE "
    "chunk_count != (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id)",
}


def _stored_chunk(row: tuple[object, ...]) -> StoredChunk:
    key, chunk_id, doc_id, source, text, start, end, page, heading_path = row
    return StoredChunk(
        key=int(key),  # type: ignore[call-overload]
        chunk_id=str(chunk_id),
        doc_id=str(doc_id),
        source=str(source),
        text=str(text),
        start=int(start),  # type: ignore[call-overload]
        end=int(end),  # type: ignore[call-overload]
        page=None if page is None else int(page),  # type: ignore[call-overload]
        heading_path=tuple(json.loads(str(heading_path))),
    )


def _chunk_record(conn: sqlite3.Connection, row: tuple[object, ...]) -> ChunkRecord:
    key, chunk_id, doc_id, idx, text, start, end, page, heading_path, text_hash, tokens = row
    windows = conn.execute("SELECT text_hash FROM windows WHERE chunk = ? ORDER BY rowid", (key,))
    return ChunkRecord(
        chunk_id=str(chunk_id),
        doc_id=str(doc_id),
        index=int(idx),  # type: ignore[call-overload]
        text=str(text),
        start=int(start),  # type: ignore[call-overload]
        end=int(end),  # type: ignore[call-overload]
        page=None if page is None else int(page),  # type: ignore[call-overload]
        heading_path=tuple(json.loads(str(heading_path))),
        text_hash=str(text_hash),
        keywords=tuple(str(tokens).split()),
        windows=tuple(row[0] for row in windows),
    )
