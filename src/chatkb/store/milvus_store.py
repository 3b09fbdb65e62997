"""The Milvus store's collections and queries (the backend and errors are in ``milvus.py``).

Keywords: chatkb's own tokens go into a text field that Milvus' BM25 function indexes.
Milvus' analyzers would split Chinese words again, so a token with non-ASCII letters is
written as ``u`` + its UTF-8 hex, which every analyzer keeps whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from chatkb.errors import EmbedderMismatchError, InvalidInputError, NotFoundError
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
from chatkb.store.milvus import is_lite, unavailable_as_error

_BATCH = 512
_CHUNK_FIELDS = [
    "key", "chunk_id", "doc_id", "source", "version", "idx", "text", "start", "end", "page",
    "heading_path", "text_hash", "windows", "tokens",
]  # fmt: skip
_MAX_TEXT = 65535


def encode_tokens(tokens: Iterable[str]) -> str:
    return " ".join(t if t.isascii() else "u" + t.encode("utf-8").hex() for t in tokens)


def decode_tokens(text: str) -> tuple[str, ...]:
    return tuple(
        bytes.fromhex(t[1:]).decode("utf-8") if _is_hex_token(t) else t for t in text.split()
    )


def _is_hex_token(token: str) -> bool:
    if not token.startswith("u") or len(token) % 2 == 0:
        return False
    try:
        bytes.fromhex(token[1:]).decode("utf-8")
    except ValueError:
        return False
    return not bytes.fromhex(token[1:]).isascii()


def _lit(value: object) -> str:
    """A literal for a Milvus filter expression (strings double-quoted and escaped)."""
    return json.dumps(value, ensure_ascii=False)


def _key(*parts: object) -> int:
    """A positive 63-bit id from its parts (Milvus primary keys are int64)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class MilvusStore:
    def __init__(self, client: Any, location: StoreLocation, dim: int) -> None:
        if not location.name.startswith("chatkb_") or not location.name.isidentifier():
            raise InvalidInputError(f"bad Milvus collection prefix {location.name!r} in kb.json")
        self.dim = dim
        self._client = client
        self._location = location
        p = location.name
        self._d, self._c, self._w = f"{p}_documents", f"{p}_chunks", f"{p}_windows"

    def _guard(self) -> unavailable_as_error:
        return unavailable_as_error(self._location.uri)

    # -- setup -------------------------------------------------------------------------------

    def create_collections(self) -> None:
        from chatkb.store.milvus_schema import create_collections

        with self._guard():
            create_collections(
                self._client, self._location.name, self.dim, is_lite(self._location.uri)
            )

    def check_collections(self) -> None:
        from pymilvus.client.types import LoadState

        with self._guard():
            if not all(self._client.has_collection(n) for n in (self._d, self._c, self._w)):
                raise NotFoundError(
                    f"no chatkb collections {self._location.name}_* at {self._location.uri}; "
                    "the knowledge base's store was removed or the URI points elsewhere"
                )
            fields = self._client.describe_collection(self._w)["fields"]
            for name in (self._d, self._c, self._w):
                # Collections made by another process (or after a restart) start released.
                if self._client.get_load_state(name).get("state") != LoadState.Loaded:
                    self._client.load_collection(name)
        dim = next(int(f["params"]["dim"]) for f in fields if f["name"] == "vector")
        if dim != self.dim:
            raise EmbedderMismatchError(
                f"the store {self._location.name} at {self._location.uri} holds {dim}-d "
                f"vectors but the knowledge base records {self.dim}-d"
            )

    def close(self) -> None:
        """The client belongs to the backend and is shared by its knowledge bases."""

    # -- reading -----------------------------------------------------------------------------

    def _query(self, collection: str, expr: str, fields: list[str]) -> list[dict[str, Any]]:
        with self._guard():
            iterator = self._client.query_iterator(
                collection,
                batch_size=_BATCH,
                filter=expr,
                output_fields=fields,
            )
            rows: list[dict[str, Any]] = []
            while batch := iterator.next():
                rows.extend(batch)
            iterator.close()
        return rows

    def _live_versions(self, sources: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(sources))
        if not wanted:
            return {}
        rows = self._query(self._d, f"source in {_lit(wanted)}", ["source", "version"])
        return {row["source"]: int(row["version"]) for row in rows}

    def _live(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of the version their document points at (others are mid-write or stray)."""
        versions = self._live_versions(row["source"] for row in rows)
        return [row for row in rows if versions.get(row["source"]) == int(row["version"])]

    def find_document(self, source: str) -> DocumentRecord | None:
        rows = self._query(self._d, f"source == {_lit(source)}", ["record"])
        return DocumentRecord(**json.loads(rows[0]["record"])) if rows else None

    def documents(self) -> list[DocumentRecord]:
        rows = self._query(self._d, "version >= 0", ["record"])
        records = [DocumentRecord(**json.loads(row["record"])) for row in rows]
        return sorted(records, key=lambda d: d.source)

    def _chunk_rows(self, expr: str) -> list[dict[str, Any]]:
        return self._live(self._query(self._c, expr, _CHUNK_FIELDS))

    def chunks(self, doc_id: str) -> list[StoredChunk]:
        rows = sorted(self._chunk_rows(f"doc_id == {_lit(doc_id)}"), key=lambda r: r["idx"])
        return [_stored_chunk(row) for row in rows]

    def chunk_records(self, doc_id: str) -> list[ChunkRecord]:
        rows = sorted(self._chunk_rows(f"doc_id == {_lit(doc_id)}"), key=lambda r: r["idx"])
        return [_chunk_record(row) for row in rows]

    def find_chunk(self, chunk_id: str) -> StoredChunk | None:
        rows = self._chunk_rows(f"chunk_id == {_lit(chunk_id)}")
        return _stored_chunk(rows[0]) if rows else None

    def fetch(self, keys: Sequence[int]) -> list[StoredChunk]:
        if not keys:
            return []
        rows = self._chunk_rows(f"key in {_lit([int(k) for k in keys])}")
        by_key = {int(row["key"]): _stored_chunk(row) for row in rows}
        return [by_key[key] for key in keys if key in by_key]

    def vectors(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        wanted = list(dict.fromkeys(text_hashes))
        if not wanted:
            return {}
        rows = self._query(self._w, f"text_hash in {_lit(wanted)}", ["text_hash", "vector"])
        return {row["text_hash"]: np.asarray(row["vector"], dtype=np.float32) for row in rows}

    # -- search ------------------------------------------------------------------------------

    @staticmethod
    def _scope(within: Collection[str] | None) -> str:
        return "" if within is None else f"doc_id in {_lit(list(within))}"

    def dense_search(
        self, query: np.ndarray, k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        if within is not None and not within:
            return []
        expr = self._scope(within)
        with self._guard():
            [hits] = self._client.search(
                self._w,
                data=[np.asarray(query, dtype=np.float32).tolist()],
                anns_field="vector",
                limit=2 * k,  # room for rows of a version being written
                group_by_field="chunk_key",  # each chunk once, by its best window
                filter=expr,
                output_fields=["chunk_key", "source", "version"],
                search_params={"metric_type": "COSINE"},
            )
        return self._scored(hits, "chunk_key", k)

    def keyword_search(
        self, tokens: Sequence[str], k: int, *, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        terms = list(dict.fromkeys(t for t in tokens if t))
        if not terms or (within is not None and not within):
            return []
        expr = self._scope(within)
        with self._guard():
            [hits] = self._client.search(
                self._c,
                data=[encode_tokens(terms)],
                anns_field="sparse",
                limit=2 * k,
                filter=expr,
                output_fields=["key", "source", "version"],
                search_params={"metric_type": "BM25"},
            )
        return self._scored(hits, "key", k)

    def _scored(self, hits: list[dict[str, Any]], key_field: str, k: int) -> list[ScoredKey]:
        rows = [{**hit["entity"], "score": float(hit["distance"])} for hit in hits]
        # Milvus Lite reports BM25 as a negative distance; the score is its size either way.
        found = [
            ScoredKey(int(r[key_field]), abs(r["score"]) if key_field == "key" else r["score"])
            for r in self._live(rows)
        ]
        found.sort(key=lambda h: h.score, reverse=True)
        return found[:k]

    # -- writing -----------------------------------------------------------------------------

    def replace_document(
        self,
        document: DocumentRecord,
        chunks: Sequence[ChunkRecord],
        vectors: Mapping[str, np.ndarray],
    ) -> None:
        require_vectors(document, chunks, vectors)
        version = time.time_ns()
        windows, rows = [], []
        for chunk in chunks:
            key = _key(chunk.chunk_id, version)
            windows.extend(_window_rows(key, chunk, version, document.source, vectors))
            rows.append(_chunk_row(key, chunk, version, document.source))
        with self._guard():
            earlier = self._live_versions([document.source])
            self._insert(self._w, windows)
            self._insert(self._c, rows)
            self._put_document(document, version)  # the switch: readers now see this version
            # A delete by filter scans the collection (Milvus Lite: all of it), so a new
            # document skips it; rows of a first write that failed are left to ``maintain``.
            if earlier:
                self._drop_other_versions(document.source, version)

    def replace_documents(self, writes: Sequence[DocumentWrite]) -> None:
        """One after another: Milvus has no transactions, and each document's switch is its
        catalog upsert (``replace_document``)."""
        for write in writes:
            require_vectors(write.document, write.chunks, write.vectors)
        for write in writes:
            self.replace_document(write.document, write.chunks, write.vectors)

    def _insert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), _BATCH):
            self._client.insert(collection, rows[start : start + _BATCH])

    def _put_document(self, document: DocumentRecord, version: int) -> None:
        self._client.upsert(
            self._d,
            [{"source": document.source, "doc_id": document.doc_id, "version": version,
              "record": json.dumps(document.to_json(), ensure_ascii=False), "dummy": [0.0, 0.0]}],
        )  # fmt: skip

    def _drop_other_versions(self, source: str, version: int) -> None:
        for collection in (self._c, self._w):
            self._client.delete(
                collection,
                filter=f"source == {_lit(source)} and version != {version}",
            )

    def delete_document(self, source: str) -> bool:
        if self.find_document(source) is None:
            return False
        with self._guard():
            self._client.delete(self._d, filter=f"source == {_lit(source)}")
            for collection in (self._c, self._w):
                self._client.delete(collection, filter=f"source == {_lit(source)}")
        return True

    def edit_chunk(self, chunk_id: str, edit: ChunkEdit, vectors: Mapping[str, np.ndarray]) -> bool:
        rows = self._chunk_rows(f"chunk_id == {_lit(chunk_id)}")
        if not rows:
            return False
        row = rows[0]
        record = replace_record(_chunk_record(row), edit)
        key, version, source = int(row["key"]), int(row["version"]), row["source"]
        new_windows = _window_rows(key, record, version, source, vectors, salt=time.time_ns())
        with self._guard():
            self._insert(self._w, new_windows)
            self._client.upsert(self._c, [_chunk_row(key, record, version, source)])
            keep = [w["id"] for w in new_windows]
            self._client.delete(
                self._w,
                filter=f"chunk_key == {key} and id not in {_lit(keep)}",
            )
        return True

    def delete_chunk(self, chunk_id: str) -> bool:
        rows = self._chunk_rows(f"chunk_id == {_lit(chunk_id)}")
        if not rows:
            return False
        key, source = int(rows[0]["key"]), rows[0]["source"]
        document = self.find_document(source)
        with self._guard():
            self._client.delete(self._c, filter=f"key == {key}")
            self._client.delete(self._w, filter=f"chunk_key == {key}")
            if document is not None:
                fewer = dataclasses.replace(document, chunk_count=document.chunk_count - 1)
                self._put_document(fewer, int(rows[0]["version"]))
        return True

    # -- upkeep ------------------------------------------------------------------------------

    def revision(self) -> None:
        """Not tracked: nothing derived from this store's contents is kept."""
        return None

    def document_count(self) -> int:
        return len(self.documents())  # Milvus counts live versions by reading them

    def stats(self) -> StoreStats:
        documents = self.documents()
        return StoreStats(
            documents=len(documents),
            chunks=sum(d.chunk_count for d in documents),
            chars=sum(d.chars for d in documents),
            bytes=0,
        )

    def maintain(self) -> None:
        """Remove rows no document points at (left by writes that failed part-way)."""
        with self._guard():
            for collection in (self._c, self._w):
                rows = self._query(collection, "version >= 0", ["source", "version"])
                live = self._live_versions(row["source"] for row in rows)
                stray = {r["source"] for r in rows if live.get(r["source"]) != int(r["version"])}
                for source in sorted(stray):
                    keep = live.get(source, -1)
                    self._client.delete(
                        collection, filter=f"source == {_lit(source)} and version != {keep}"
                    )

    def check_consistency(self) -> list[str]:
        problems = []
        chunks = self._chunk_rows("version >= 0")
        windowed = {
            int(r["chunk_key"])
            for r in self._live(
                self._query(self._w, "version >= 0", ["chunk_key", "source", "version"])
            )
        }
        without = sum(1 for r in chunks if int(r["key"]) not in windowed)
        if without:
            problems.append(f"{without} chunks without a vector")
        counts: dict[str, int] = {}
        for row in chunks:
            counts[row["doc_id"]] = counts.get(row["doc_id"], 0) + 1
        wrong = sum(1 for d in self.documents() if counts.get(d.doc_id, 0) != d.chunk_count)
        if wrong:
            problems.append(f"{wrong} documents whose chunk count is wrong")
        return problems


def replace_record(record: ChunkRecord, edit: ChunkEdit) -> ChunkRecord:
    return ChunkRecord(
        **{**record.__dict__, "text": edit.text, "text_hash": edit.text_hash,
           "keywords": edit.keywords, "windows": edit.windows}
    )  # fmt: skip


def _window_rows(
    key: int,
    chunk: ChunkRecord,
    version: int,
    source: str,
    vectors: Mapping[str, np.ndarray],
    salt: int = 0,
) -> list[dict[str, Any]]:
    return [
        {"id": _key(key, i, text_hash, salt), "chunk_key": key, "doc_id": chunk.doc_id,
         "source": source, "version": version, "text_hash": text_hash,
         "vector": np.asarray(vectors[text_hash], dtype=np.float32).tolist()}
        for i, text_hash in enumerate(chunk.embedded_hashes())
    ]  # fmt: skip


def _chunk_row(key: int, chunk: ChunkRecord, version: int, source: str) -> dict[str, Any]:
    return {
        "key": key, "chunk_id": chunk.chunk_id, "doc_id": chunk.doc_id, "source": source,
        "version": version, "idx": chunk.index, "text": chunk.text[:_MAX_TEXT // 4],
        "start": chunk.start, "end": chunk.end, "page": -1 if chunk.page is None else chunk.page,
        "heading_path": json.dumps(chunk.heading_path, ensure_ascii=False),
        "text_hash": chunk.text_hash, "windows": json.dumps(chunk.windows),
        "tokens": encode_tokens(chunk.keywords)[:_MAX_TEXT],
    }  # fmt: skip


def _stored_chunk(row: dict[str, Any]) -> StoredChunk:
    return StoredChunk(
        key=int(row["key"]), chunk_id=row["chunk_id"], doc_id=row["doc_id"],
        source=row["source"], text=row["text"], start=int(row["start"]), end=int(row["end"]),
        page=None if int(row["page"]) < 0 else int(row["page"]),
        heading_path=tuple(json.loads(row["heading_path"])),
    )  # fmt: skip


def _chunk_record(row: dict[str, Any]) -> ChunkRecord:
    return ChunkRecord(
        chunk_id=row["chunk_id"], doc_id=row["doc_id"], index=int(row["idx"]), text=row["text"],
        start=int(row["start"]), end=int(row["end"]),
        page=None if int(row["page"]) < 0 else int(row["page"]),
        heading_path=tuple(json.loads(row["heading_path"])), text_hash=row["text_hash"],
        keywords=decode_tokens(row["tokens"]), windows=tuple(json.loads(row["windows"])),
    )  # fmt: skip
