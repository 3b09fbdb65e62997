"""The embedded store: keyword and dense search, the derived dense cache, consistency."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from chatkb.store.base import ChunkRecord, DocumentRecord
from chatkb.store.embedded import EmbeddedStore
from chatkb.tokenize import tokenize


def _document(source: str, chunks: int) -> DocumentRecord:
    return DocumentRecord(
        f"id-{source}", source, f"/x/{source}", "txt", None, f"h-{source}", 1, chunks, 10,
        "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00",
    )  # fmt: skip


def _chunk(source: str, index: int, text: str) -> ChunkRecord:
    return ChunkRecord(
        f"{source}-{index}", f"id-{source}", index, text, 0, len(text), None, ("H",),
        f"t-{text}", " ".join(tokenize(text)),
    )  # fmt: skip


def _vectors(n: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _fill(store: EmbeddedStore) -> np.ndarray:
    texts = ["北京是中国的首都", "The pump runs on diesel", "熊猫吃竹子"]
    vectors = _vectors(3, 1)
    chunks = [_chunk("a", i, t) for i, t in enumerate(texts)]
    store.replace_document(_document("a", 3), chunks, vectors)
    return vectors


def test_keyword_and_dense_search(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, 8)
    vectors = _fill(store)
    [hit] = store.keyword_search(tokenize("首都北京在哪"), 5)
    assert store.fetch([hit.key])[0].text == "北京是中国的首都" and hit.score > 0
    pump = store.keyword_search(tokenize("pumps diesel"), 5)
    assert store.fetch([pump[0].key])[0].text == "The pump runs on diesel"
    dense = store.dense_search(vectors[2], 3)
    assert store.fetch([dense[0].key])[0].text == "熊猫吃竹子"
    assert abs(dense[0].score - 1.0) < 1e-5
    assert dense[0].score >= dense[1].score >= dense[2].score


def test_dense_cache_is_rebuilt_when_stale_or_damaged(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, 8)
    vectors = _fill(store)
    store.refresh_indexes()
    stamp = json.loads((tmp_path / "dense.json").read_text())
    assert stamp["count"] == 3
    store.delete_document("a")
    assert store.dense_search(vectors[0], 3) == []
    _fill(store)
    (tmp_path / "dense.npy").write_bytes(b"garbage")
    other = EmbeddedStore(tmp_path, 8)  # a second process, as the CLI and server are
    assert len(other.dense_search(vectors[0], 3)) == 3
    assert other.check_consistency() == []


def test_replace_is_atomic(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, 8)
    _fill(store)
    bad = [_chunk("a", 0, "新的文本"), _chunk("a", 0, "duplicate chunk id")]
    with pytest.raises(sqlite3.IntegrityError):
        store.replace_document(_document("a", 2), bad, _vectors(2, 2))
    assert store.chunks_of("id-a")[0].text == "北京是中国的首都"
    assert store.check_consistency() == []
