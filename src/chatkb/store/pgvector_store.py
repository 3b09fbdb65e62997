"""The pgvector store's queries (the backend, pool and errors are in ``pgvector.py``)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from chatkb.errors import BackendUnavailableError, InvalidInputError
from chatkb.store.backends import StoreLocation
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
from chatkb.store.pgvector import PgvectorBackend, check_dimension

_NAME = re.compile(r"^chatkb_[a-z0-9_]{1,60}$")
_DOC_COLUMNS = (
    "doc_id, source, path, file_type, title, content_hash, size, chunk_count, chars, "
    "added_at, updated_at"
)
_CHUNK_COLUMNS = (
    'c.key, c.chunk_id, c.doc_id, d.source, c.text, c.start, c."end", c.page, c.heading_path'
)
# Windows fetched per asked chunk before keeping each chunk's best (chunks have several).
WINDOWS_PER_CHUNK = 8


class PgvectorStore:
    def __init__(self, backend: PgvectorBackend, location: StoreLocation, dim: int) -> None:
        if not _NAME.match(location.name):
            raise InvalidInputError(f"bad pgvector table prefix {location.name!r} in kb.json")
        self.dim = dim
        self._backend = backend
        self._location = location
        p = location.name
        self._d, self._c, self._w = f"{p}_documents", f"{p}_chunks", f"{p}_windows"

    def _conn(self) -> Any:
        return self._backend.connection(self._location.uri)

    # -- setup -------------------------------------------------------------------------------

    def create_tables(self) -> None:
        with self._conn() as conn:
            _ensure_extension(conn, self._location.uri)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._d} (doc_id text PRIMARY KEY, "
                "source text NOT NULL UNIQUE, path text NOT NULL, file_type text NOT NULL, "
                "title text, content_hash text NOT NULL, size bigint NOT NULL, "
                "chunk_count int NOT NULL, chars bigint NOT NULL, added_at text NOT NULL, "
                "updated_at text NOT NULL)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._c} (key bigserial PRIMARY KEY, "
                "chunk_id text NOT NULL UNIQUE, "
                f"doc_id text NOT NULL REFERENCES {self._d}(doc_id) ON DELETE CASCADE, "
                'idx int NOT NULL, text text NOT NULL, start int NOT NULL, "end" int NOT NULL, '
                "page int, heading_path text NOT NULL, text_hash text NOT NULL, "
                "tokens text[] NOT NULL, length int NOT NULL, keywords tsvector NOT NULL)"
            )
            conn.execute(f"CREATE INDEX IF NOT EXISTS {self._c}_doc ON {self._c}(doc_id)")
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self._c}_kw ON {self._c} USING gin(keywords)"
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self._w} (id bigserial PRIMARY KEY, "
                f"chunk_key bigint NOT NULL REFERENCES {self._c}(key) ON DELETE CASCADE, "
                "doc_id text NOT NULL, text_hash text NOT NULL, "
                f"embedding vector({self.dim}) NOT NULL)"
            )
            for column in ("chunk_key", "doc_id", "text_hash"):
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {self._w}_{column} ON {self._w}({column})"
                )
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self._w}_hnsw ON {self._w} "
                "USING hnsw (embedding vector_cosine_ops)"
            )

    def check_tables(self) -> None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                "AND attname = 'embedding'",
                (self._w,),
            ).fetchone()
        check_dimension(self._location, None if row is None else int(row[0]), self.dim)

    def close(self) -> None:
        """The pool belongs to the backend and is shared by its knowledge bases."""

    # -- documents ---------------------------------------------------------------------------

    def find_document(self, source: str) -> DocumentRecord | None:
        with self._conn() as conn:
            row = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM {self._d} WHERE source = %s", (source,)
            ).fetchone()
        return DocumentRecord(*row) if row else None

    def documents(self) -> list[DocumentRecord]:
        with self._conn() as conn:
            rows = conn.execute(f"SELECT {_DOC_COLUMNS} FROM {self._d} ORDER BY source")
            return [DocumentRecord(*row) for row in rows]

    def document_count(self) -> int:
        with self._conn() as conn:
            return int(conn.execute(f"SELECT count(*) FROM {self._d}").fetchone()[0])

    def replace_document(
        self,
        document: DocumentRecord,
        chunks: Sequence[ChunkRecord],
        vectors: Mapping[str, np.ndarray],
    ) -> None:
        self.replace_documents([DocumentWrite(document, chunks, vectors)])

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> None:
        for write in writes:
            require_vectors(write.document, write.chunks, write.vectors)
        with self._conn() as conn:  # one transaction: readers see the old or the new versions
            for write in writes:
                self._replace(conn, write)

    def _replace(self, conn: Any, write: DocumentWrite) -> None:
        document, chunks, vectors = write.document, write.chunks, write.vectors
        conn.execute(f"DELETE FROM {self._d} WHERE source = %s", (document.source,))
        conn.execute(
            f"INSERT INTO {self._d} ({_DOC_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            tuple(document.__dict__.values()),
        )
        keys = self._new_keys(conn, len(chunks))
        with conn.cursor() as cursor:
            cursor.executemany(
                f'INSERT INTO {self._c} (key, chunk_id, doc_id, idx, text, start, "end", '
                "page, heading_path, text_hash, tokens, length, keywords) VALUES "
                "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s::tsvector)",
                [_chunk_row(key, chunk) for key, chunk in zip(keys, chunks, strict=True)],
            )
            cursor.executemany(
                f"INSERT INTO {self._w} (chunk_key, doc_id, text_hash, embedding) "
                "VALUES (%s, %s, %s, %s::vector)",
                [
                    (key, chunk.doc_id, h, _vector_text(vectors[h]))
                    for key, chunk in zip(keys, chunks, strict=True)
                    for h in chunk.embedded_hashes()
                ],
            )

    def _new_keys(self, conn: Any, n: int) -> list[int]:
        rows = conn.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'key')) FROM generate_series(1, %s)",
            (self._c, n),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def delete_document(self, source: str) -> bool:
        with self._conn() as conn:
            cursor = conn.execute(f"DELETE FROM {self._d} WHERE source = %s", (source,))
            return bool(cursor.rowcount)

    # -- chunks ------------------------------------------------------------------------------

    def _select_chunks(self, where: str, params: Sequence[object]) -> list[StoredChunk]:
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM {self._c} c JOIN {self._d} d "
                f"ON d.doc_id = c.doc_id WHERE {where}",
                params,
            ).fetchall()
        return [_stored_chunk(row) for row in rows]

    def chunks(self, doc_id: str) -> list[StoredChunk]:
        return self._select_chunks("c.doc_id = %s ORDER BY c.idx", (doc_id,))

    def find_chunk(self, chunk_id: str) -> StoredChunk | None:
        found = self._select_chunks("c.chunk_id = %s", (chunk_id,))
        return found[0] if found else None

    def fetch(self, keys: Sequence[int]) -> list[StoredChunk]:
        if not keys:
            return []
        by_key = {c.key: c for c in self._select_chunks("c.key = ANY(%s)", (list(keys),))}
        return [by_key[key] for key in keys if key in by_key]

    def chunk_records(self, doc_id: str) -> list[ChunkRecord]:
        with self._conn() as conn:
            rows = conn.execute(
                f'SELECT c.chunk_id, c.doc_id, c.idx, c.text, c.start, c."end", c.page, '
                "c.heading_path, c.text_hash, c.tokens, coalesce(array_agg(w.text_hash "
                f"ORDER BY w.id) FILTER (WHERE w.text_hash <> c.text_hash), '{{}}') "
                f"FROM {self._c} c LEFT JOIN {self._w} w ON w.chunk_key = c.key "
                "WHERE c.doc_id = %s GROUP BY c.key ORDER BY c.idx",
                (doc_id,),
            ).fetchall()
        return [_chunk_record(row) for row in rows]

    def edit_chunk(self, chunk_id: str, edit: ChunkEdit, vectors: Mapping[str, np.ndarray]) -> bool:
        with self._conn() as conn:
            row = conn.execute(
                f"UPDATE {self._c} SET text = %s, text_hash = %s, tokens = %s, length = %s, "
                "keywords = %s::tsvector WHERE chunk_id = %s RETURNING key, doc_id",
                (
                    edit.text,
                    edit.text_hash,
                    list(edit.keywords),
                    len(edit.keywords),
                    _tsvector(edit.keywords),
                    chunk_id,
                ),
            ).fetchone()
            if row is None:
                return False
            conn.execute(f"DELETE FROM {self._w} WHERE chunk_key = %s", (row[0],))
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self._w} (chunk_key, doc_id, text_hash, embedding) "
                    "VALUES (%s, %s, %s, %s::vector)",
                    [
                        (row[0], row[1], h, _vector_text(vectors[h]))
                        for h in (edit.windows or (edit.text_hash,))
                    ],
                )
        return True

    def delete_chunk(self, chunk_id: str) -> bool:
        with self._conn() as conn:
            row = conn.execute(
                f"DELETE FROM {self._c} WHERE chunk_id = %s RETURNING doc_id", (chunk_id,)
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                f"UPDATE {self._d} SET chunk_count = chunk_count - 1 WHERE doc_id = %s", row
            )
        return True

    # -- vectors and search ------------------------------------------------------------------

    def vectors(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if not text_hashes:
            return {}
        with self._conn() as conn:
            rows = conn.execute(
                f"SELECT DISTINCT ON (text_hash) text_hash, embedding::real[] FROM {self._w} "
                "WHERE text_hash = ANY(%s)",
                (list(dict.fromkeys(text_hashes)),),
            ).fetchall()
        return {h: np.asarray(v, dtype=np.float32) for h, v in rows}

    def dense_search(
        self, query: np.ndarray, k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        if within is not None and not within:
            return []
        scope, params = _scope("doc_id", within)
        windows = k * WINDOWS_PER_CHUNK
        with self._conn() as conn:
            conn.execute(f"SET LOCAL hnsw.ef_search = {min(1000, max(40, windows))}")
            conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = conn.execute(
                "SELECT chunk_key, max(1 - distance) AS score FROM (SELECT chunk_key, "
                f"embedding <=> %s::vector AS distance FROM {self._w} {scope} "
                "ORDER BY distance LIMIT %s) AS nearest "
                "GROUP BY chunk_key ORDER BY score DESC, chunk_key LIMIT %s",
                (_vector_text(query), *params, windows, k),
            ).fetchall()
        return [ScoredKey(int(key), float(score)) for key, score in rows]

    def keyword_search(
        self, tokens: Sequence[str], k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        terms = list(dict.fromkeys(t for t in tokens if t))
        if not terms or (within is not None and not within):
            return []
        scope, params = _scope("doc_id", within, joiner="AND")
        with self._conn() as conn:
            rows = conn.execute(
                _bm25_sql(self._c, scope), (terms, _tsquery(terms), *params, k)
            ).fetchall()
        return [ScoredKey(int(key), float(score)) for key, score in rows]

    # -- upkeep ------------------------------------------------------------------------------

    def revision(self) -> None:
        """Not tracked: nothing derived from this store's contents is kept."""
        return None

    def stats(self) -> StoreStats:
        with self._conn() as conn:
            docs, chars = conn.execute(
                f"SELECT count(*), coalesce(sum(chars), 0) FROM {self._d}"
            ).fetchone()
            chunks = conn.execute(f"SELECT count(*) FROM {self._c}").fetchone()[0]
        return StoreStats(documents=int(docs), chunks=int(chunks), chars=int(chars), bytes=0)

    def maintain(self) -> None:
        """Vectors go with their windows, so nothing is left to prune."""

    def check_consistency(self) -> list[str]:
        checks = {
            "chunks without a vector": f"SELECT count(*) FROM {self._c} c WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self._w} w WHERE w.chunk_key = c.key)",
            "documents whose chunk count is wrong": f"SELECT count(*) FROM {self._d} d WHERE "
            f"chunk_count != (SELECT count(*) FROM {self._c} c WHERE c.doc_id = d.doc_id)",
        }
        problems = []
        with self._conn() as conn:
            for name, sql in checks.items():
                count = conn.execute(sql).fetchone()[0]
                if count:
                    problems.append(f"{count} {name}")
        return problems


def _ensure_extension(conn: Any, uri: str) -> None:
    import psycopg

    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise BackendUnavailableError(
            f"PostgreSQL at {uri} has no usable pgvector extension ({str(exc).strip()}); "
            "install pgvector on the server (or use an image with it, e.g. pgvector/pgvector) "
            "and let the user run CREATE EXTENSION vector"
        ) from None


def _scope(
    column: str, within: Collection[str] | None, joiner: str = "WHERE"
) -> tuple[str, tuple[object, ...]]:
    if within is None:
        return "", ()
    return f"{joiner} {column} = ANY(%s)", (list(within),)


def _bm25_sql(chunks: str, scope: str) -> str:
    """BM25 as SQLite's FTS5 computes it (k1 1.2, b 0.75, idf floored at 1e-6)."""
    return (
        # MATERIALIZED: inlined, each term's document count was recounted for every match.
        f"WITH s AS MATERIALIZED (SELECT count(*)::float8 AS n, "
        f"coalesce(avg(length), 0)::float8 AS avgdl FROM {chunks}), "
        "t AS MATERIALIZED (SELECT term, CASE WHEN x > 1 THEN ln(x) ELSE 1e-6 END AS idf FROM "
        "(SELECT term, (s.n - df + 0.5) / (df + 0.5) AS x FROM s, (SELECT term, "
        f"(SELECT count(*) FROM {chunks} WHERE keywords @@ quote_literal(term)::tsquery)"
        "::float8 AS df FROM unnest(%s::text[]) AS term) AS d) AS e), "
        f"m AS (SELECT key, tokens, length FROM {chunks} WHERE keywords @@ %s::tsquery {scope}) "
        "SELECT m.key, sum(t.idf * f.tf * 2.2 / (f.tf + 1.2 * (0.25 + 0.75 * m.length / "
        "greatest(s.avgdl, 1e-9)))) AS score FROM m CROSS JOIN s CROSS JOIN t "
        "CROSS JOIN LATERAL (SELECT count(*)::float8 AS tf FROM unnest(m.tokens) AS u "
        "WHERE u = t.term) AS f WHERE f.tf > 0 "
        "GROUP BY m.key ORDER BY score DESC, m.key LIMIT %s"
    )


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(terms: Sequence[str]) -> str:
    return " | ".join(_quote(t) for t in terms)


def _tsvector(tokens: Sequence[str]) -> str:
    """Tokens as lexemes verbatim (no parser, no dictionary): chatkb has tokenised them."""
    return " ".join(_quote(t) for t in tokens)


def _vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.8g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def _chunk_row(key: int, chunk: ChunkRecord) -> tuple[object, ...]:
    return (
        key,
        chunk.chunk_id,
        chunk.doc_id,
        chunk.index,
        chunk.text,
        chunk.start,
        chunk.end,
        chunk.page,
        json.dumps(chunk.heading_path, ensure_ascii=False),
        chunk.text_hash,
        list(chunk.keywords),
        len(chunk.keywords),
        _tsvector(chunk.keywords),
    )


def _stored_chunk(row: Sequence[Any]) -> StoredChunk:
    key, chunk_id, doc_id, source, text, start, end, page, heading_path = row
    return StoredChunk(
        key=int(key),
        chunk_id=chunk_id,
        doc_id=doc_id,
        source=source,
        text=text,
        start=int(start),
        end=int(end),
        page=page,
        heading_path=tuple(json.loads(heading_path)),
    )


def _chunk_record(row: Sequence[Any]) -> ChunkRecord:
    chunk_id, doc_id, idx, text, start, end, page, heading_path, text_hash, tokens, windows = row
    return ChunkRecord(
        chunk_id=chunk_id,
        doc_id=doc_id,
        index=int(idx),
        text=text,
        start=int(start),
        end=int(end),
        page=page,
        heading_path=tuple(json.loads(heading_path)),
        text_hash=text_hash,
        keywords=tuple(tokens),
        windows=tuple(windows),
    )
