"""Stores by registered name (``store.backend``): ``embedded`` (default), ``milvus``, ``pgvector``.

A backend knows where a new knowledge base goes on it (``locate``), opens a store there
(``open``, creating it when asked), removes one (``drop``) and checks that it can be reached
(``check``). The location is recorded in the knowledge base's ``kb.json``.
"""

from __future__ import annotations

from chatkb.store.backends import STORES, StoreBackend, StoreLocation, make_backend
from chatkb.store.base import (
    ChunkEdit,
    ChunkRecord,
    DocumentRecord,
    DocumentWrite,
    ScoredKey,
    Store,
    StoredChunk,
    StoreStats,
)

__all__ = [
    "STORES",
    "ChunkEdit",
    "ChunkRecord",
    "DocumentRecord",
    "DocumentWrite",
    "ScoredKey",
    "Store",
    "StoreBackend",
    "StoreLocation",
    "StoreStats",
    "StoredChunk",
    "make_backend",
]
