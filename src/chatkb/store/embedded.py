"""The default store: one SQLite file per knowledge base (catalog, vectors, FTS5 keyword
index, all in one transaction per document) plus a derived dense matrix for exact search."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from chatkb.embedders import Vectors
from chatkb.store.base import ChunkRecord, DocumentRecord, ScoredKey, StoredChunk
from chatkb.store.dense import DenseIndex

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


class EmbeddedStore:
    """SQLite (WAL) catalog + FTS5 BM25 + exact dense search. Safe across processes."""

    def __init__(self, directory: Path, dim: int) -> None:
        self.directory = directory
        self.dim = dim
        self.path = directory / "catalog.sqlite"
        self._local = threading.local()
        self._dense = DenseIndex(directory, dim)
        self.connection().executescript(SCHEMA)  # idempotent; executescript commits itself

    # -- connections -------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """One connection per thread; the server calls from a thread pool."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- metadata ----------------------------------------------------------------------------

    def get_meta(self) -> dict[str, str]:
        return dict(self.connection().execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: dict[str, str]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    def generation(self) -> int:
        row = self.connection().execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _bump_generation(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
        )

    # -- documents ---------------------------------------------------------------------------

    def find_document(self, source: str) -> DocumentRecord | None:
        row = (
            self.connection()
            .execute("SELECT * FROM documents WHERE source = ?", (source,))
            .fetchone()
        )
        return DocumentRecord(*row) if row else None

    def list_documents(self) -> list[DocumentRecord]:
        rows = self.connection().execute("SELECT * FROM documents ORDER BY source").fetchall()
        return [DocumentRecord(*row) for row in rows]

    def replace_document(
        self,
        document: DocumentRecord,
        chunks: Sequence[ChunkRecord],
        vectors: Mapping[str, np.ndarray],
    ) -> None:
        missing = {h for c in chunks for h in c.embedded_hashes()} - set(vectors)
        if missing:
            raise ValueError(f"{len(missing)} embedded texts of {document.source} lack a vector")
        with self.transaction() as conn:
            self._delete(conn, document.source)
            self._put_vectors(conn, list(vectors), list(vectors.values()))
            conn.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                tuple(document.__dict__.values()),
            )
            for chunk in chunks:
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
                conn.execute(
                    "INSERT INTO keywords(rowid, tokens) VALUES (?, ?)", (key, chunk.keywords)
                )
                self._put_windows(conn, key, chunk.windows)
            self._bump_generation(conn)

    def delete_document(self, source: str) -> bool:
        with self.transaction() as conn:
            deleted = self._delete(conn, source)
            if deleted:
                self._bump_generation(conn)
        return deleted

    def _delete(self, conn: sqlite3.Connection, source: str) -> bool:
        row = conn.execute("SELECT doc_id FROM documents WHERE source = ?", (source,)).fetchone()
        if row is None:
            return False
        conn.execute(
            "DELETE FROM keywords WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)", row
        )
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", row)
        conn.execute("DELETE FROM documents WHERE doc_id = ?", row)
        return True

    @staticmethod
    def _put_windows(conn: sqlite3.Connection, key: int | None, hashes: Sequence[str]) -> None:
        conn.executemany(
            "INSERT INTO windows(chunk, text_hash) VALUES (?, ?)", [(key, h) for h in hashes]
        )

    # -- vectors -----------------------------------------------------------------------------

    def cached_vectors(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        conn = self.connection()
        unique = list(dict.fromkeys(text_hashes))
        for i in range(0, len(unique), 500):
            batch = unique[i : i + 500]
            marks = ",".join("?" * len(batch))
            for text_hash, blob in conn.execute(
                f"SELECT text_hash, vector FROM vectors WHERE text_hash IN ({marks})", batch
            ):
                found[text_hash] = np.frombuffer(blob, dtype=np.float32)
        return found

    def cache_vectors(self, text_hashes: Sequence[str], vectors: Vectors) -> None:
        with self.transaction() as conn:
            self._put_vectors(conn, text_hashes, vectors)

    @staticmethod
    def _put_vectors(
        conn: sqlite3.Connection, hashes: Sequence[str], vectors: Vectors | Sequence[np.ndarray]
    ) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO vectors(text_hash, vector) VALUES (?, ?)",
            [
                (h, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                for h, v in zip(hashes, vectors, strict=True)
            ],
        )

    def prune_vectors(self) -> int:
        """Drop cached vectors no chunk uses any more (after a complete ingest or removal)."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM vectors WHERE text_hash NOT IN (SELECT text_hash FROM chunks) "
                "AND text_hash NOT IN (SELECT text_hash FROM windows)"
            )
            return cursor.rowcount

    # -- search ------------------------------------------------------------------------------

    def dense_search(self, query: np.ndarray, k: int) -> list[ScoredKey]:
        conn = self.connection()
        return self._dense.search(conn, self.generation(), query, k)

    def refresh_indexes(self) -> None:
        """Bring derived indexes up to date now rather than at the next search."""
        self._dense.refresh(self.connection(), self.generation())

    def keyword_search(self, tokens: Sequence[str], k: int) -> list[ScoredKey]:
        terms = list(dict.fromkeys(t for t in tokens if t))
        if not terms:
            return []
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = (
            self.connection()
            .execute(
                "SELECT rowid, -bm25(keywords) FROM keywords WHERE keywords MATCH ? "
                "ORDER BY bm25(keywords) LIMIT ?",
                (query, k),
            )
            .fetchall()
        )
        return [ScoredKey(int(key), float(score)) for key, score in rows]

    def fetch(self, keys: Sequence[int]) -> list[StoredChunk]:
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = (
            self.connection()
            .execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                f"WHERE c.id IN ({marks})",
                list(keys),
            )
            .fetchall()
        )
        by_key = {row[0]: _stored_chunk(row) for row in rows}
        return [by_key[key] for key in keys if key in by_key]

    def chunk_keys(self, doc_ids: Sequence[str]) -> set[int]:
        """Keys of every chunk of these documents (for metadata filters)."""
        keys: set[int] = set()
        conn = self.connection()
        for start in range(0, len(doc_ids), 500):
            batch = list(doc_ids[start : start + 500])
            marks = ",".join("?" * len(batch))
            rows = conn.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", batch)
            keys.update(int(row[0]) for row in rows)
        return keys

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        rows = (
            self.connection()
            .execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                "WHERE c.doc_id = ? ORDER BY c.idx",
                (doc_id,),
            )
            .fetchall()
        )
        return [_stored_chunk(row) for row in rows]

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

    def update_chunk(
        self,
        chunk_id: str,
        *,
        text: str,
        keywords: str,
        text_hash: str,
        windows: Sequence[str],
        vectors: Mapping[str, np.ndarray],
    ) -> bool:
        """Replace one chunk's text, vectors and keyword row in one transaction; ``windows``
        and ``vectors`` as in ``replace_document``."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM chunks WHERE chunk_id = ?", (chunk_id,)).fetchone()
            if row is None:
                return False
            self._put_vectors(conn, list(vectors), list(vectors.values()))
            conn.execute(
                "UPDATE chunks SET text = ?, text_hash = ? WHERE id = ?", (text, text_hash, row[0])
            )
            conn.execute("DELETE FROM windows WHERE chunk = ?", row)
            self._put_windows(conn, row[0], windows)
            conn.execute("DELETE FROM keywords WHERE rowid = ?", row)
            conn.execute("INSERT INTO keywords(rowid, tokens) VALUES (?, ?)", (row[0], keywords))
            self._bump_generation(conn)
        return True

    def delete_chunk(self, chunk_id: str) -> bool:
        """Remove one chunk from every index; its document's chunk count follows."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id, doc_id FROM chunks WHERE chunk_id = ?", (chunk_id,)
            ).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM keywords WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM chunks WHERE id = ?", (row[0],))
            conn.execute(
                "UPDATE documents SET chunk_count = chunk_count - 1 WHERE doc_id = ?", (row[1],)
            )
            self._bump_generation(conn)
        return True

    def stats(self) -> dict[str, int]:
        conn = self.connection()
        docs, chars = conn.execute(
            "SELECT count(*), coalesce(sum(chars),0) FROM documents"
        ).fetchone()
        chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        size = sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())
        return {"documents": docs, "chunks": chunks, "chars": chars, "bytes": size}

    def check_consistency(self) -> list[str]:
        """Problems found between the catalog's tables; empty when consistent."""
        conn = self.connection()
        checks = {
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
        problems = []
        for name, sql in checks.items():
            count = conn.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} {name}")
        return problems


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
