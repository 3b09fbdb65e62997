"""The embedded store: keyword and dense search, consistency (the dense index itself:
tests/test_dense_index.py)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
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
        f"t-{text}", tuple(tokenize(text)),
    )  # fmt: skip


def _vectors(n: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _by_hash(chunks: list[ChunkRecord], vectors: np.ndarray) -> dict[str, np.ndarray]:
    return {c.text_hash: v for c, v in zip(chunks, vectors, strict=True)}


def _fill(store: EmbeddedStore) -> np.ndarray:
    texts = ["北京是中国的首都", "The pump runs on diesel", "熊猫吃竹子"]
    vectors = _vectors(3, 1)
    chunks = [_chunk("a", i, t) for i, t in enumerate(texts)]
    store.replace_document(_document("a", 3), chunks, _by_hash(chunks, vectors))
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


def test_replace_is_atomic(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, 8)
    _fill(store)
    bad = [_chunk("a", 0, "新的文本"), _chunk("a", 0, "duplicate chunk id")]
    with pytest.raises(sqlite3.IntegrityError):
        store.replace_document(_document("a", 2), bad, _by_hash(bad, _vectors(2, 2)))
    assert store.chunks("id-a")[0].text == "北京是中国的首都"
    assert store.check_consistency() == []


def test_a_chunk_with_windows_scores_its_best_window(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, 8)
    vectors = _vectors(5, 3)
    whole = _chunk("a", 0, "embedded whole")
    windowed = replace(_chunk("a", 1, "two windows"), windows=("w1", "w2"))
    by_hash = {whole.text_hash: vectors[0], "w1": vectors[1], "w2": vectors[2]}
    store.replace_document(_document("a", 2), [whole, windowed], by_hash)
    for query in (vectors[1], vectors[2]):
        best = store.dense_search(query, 2)[0]
        assert store.fetch([best.key])[0].text == "two windows"
        assert abs(best.score - 1.0) < 1e-5
    assert store.fetch([store.dense_search(vectors[0], 2)[0].key])[0].text == "embedded whole"
    assert store.check_consistency() == []
    # Vectors of windows are kept by pruning and go with their chunk.
    assert store.prune_vectors() == 0
    store.delete_chunk(windowed.chunk_id)
    assert store.connection().execute("SELECT count(*) FROM windows").fetchone()[0] == 0
    assert store.prune_vectors() == 2
    assert [h.key for h in store.dense_search(vectors[1], 2)] == [
        store.dense_search(vectors[0], 1)[0].key
    ]


def test_a_window_without_a_vector_is_refused(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, 8)
    chunk = replace(_chunk("a", 0, "text"), windows=("w1", "w2"))
    with pytest.raises(ValueError, match="lack a vector"):
        store.replace_document(_document("a", 1), [chunk], {"w1": _vectors(1, 4)[0]})
    assert store.documents() == []
