"""What every store must do (chatkb.store.base.Store), run against every registered backend.

A new backend is validated by registering it and running this file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from _store_servers import MakeStore
from chatkb.errors import BackendUnavailableError, EmbedderMismatchError, NotFoundError
from chatkb.settings import Settings
from chatkb.store import (
    ChunkEdit,
    ChunkRecord,
    DocumentRecord,
    DocumentWrite,
    Store,
    StoreBackend,
    StoreLocation,
    make_backend,
)
from chatkb.tokenize import tokenize

TEXTS = ["北京是中国的首都", "The pump runs on diesel", "熊猫吃竹子", "Tea grows on hills"]


def _unit(n: int, seed: int, dim: int = 8) -> np.ndarray:
    matrix = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def document(source: str, chunks: int, version: str = "1") -> DocumentRecord:
    return DocumentRecord(
        f"{source}-v{version}", source, f"/x/{source}", source.rsplit(".", 1)[-1], "T",
        f"h-{source}-{version}", 10, chunks, 40, "2026-01-01T00:00:00+00:00",
        "2026-01-02T00:00:00+00:00",
    )  # fmt: skip


def chunk(doc: DocumentRecord, index: int, text: str, windows: tuple[str, ...] = ()) -> ChunkRecord:
    return ChunkRecord(
        f"{doc.doc_id}-{index}", doc.doc_id, index, text, index * 10, index * 10 + len(text),
        index + 1, ("章", "节"), f"t-{doc.doc_id}-{text}", tuple(tokenize(text)), windows,
    )  # fmt: skip


def prepared(source: str, texts: list[str], version: str = "1", seed: int = 1) -> DocumentWrite:
    doc = document(source, len(texts), version)
    chunks = [chunk(doc, i, t) for i, t in enumerate(texts)]
    vectors = dict(zip((c.text_hash for c in chunks), _unit(len(chunks), seed), strict=True))
    return DocumentWrite(doc, chunks, vectors)


def write(
    store: Store, source: str, texts: list[str], version: str = "1", seed: int = 1
) -> tuple[DocumentRecord, list[ChunkRecord], dict[str, np.ndarray]]:
    new = prepared(source, texts, version, seed)
    store.replace_document(new.document, new.chunks, new.vectors)
    return new.document, list(new.chunks), dict(new.vectors)


def texts_of(store: Store, keys: list[int]) -> list[str]:
    return [c.text for c in store.fetch(keys)]


class _Exploding(Mapping[str, np.ndarray]):
    """Vectors that fail part-way through being read, as a write that dies mid-way."""

    def __init__(self, vectors: dict[str, np.ndarray], after: int) -> None:
        self._vectors, self._after, self._reads = vectors, after, 0

    def __getitem__(self, key: str) -> np.ndarray:
        self._reads += 1
        if self._reads > self._after:
            raise RuntimeError("the write died here")
        return self._vectors[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vectors)

    def __len__(self) -> int:
        return len(self._vectors)


# -- writes ----------------------------------------------------------------------------------


def test_replace_is_idempotent(make_store: MakeStore) -> None:
    store = make_store()
    doc, chunks, vectors = write(store, "a.txt", TEXTS)
    before = [c.key for c in store.chunks(doc.doc_id)]
    store.replace_document(doc, chunks, vectors)
    assert store.documents() == [doc]
    assert [c.text for c in store.chunks(doc.doc_id)] == TEXTS
    assert store.stats().chunks == len(TEXTS) and store.stats().documents == 1
    hits = store.dense_search(vectors[chunks[1].text_hash], 10)
    assert len(hits) == len(TEXTS) and texts_of(store, [hits[0].key]) == [TEXTS[1]]
    assert len(before) == len(TEXTS)
    assert store.check_consistency() == []


def test_replace_swaps_the_whole_document(make_store: MakeStore) -> None:
    store = make_store()
    old, old_chunks, _ = write(store, "a.txt", TEXTS)
    new, _, _ = write(store, "a.txt", ["Only one chunk now"], version="2", seed=2)
    assert store.documents() == [new]
    assert store.chunks(old.doc_id) == []
    assert [c.text for c in store.chunks(new.doc_id)] == ["Only one chunk now"]
    assert store.keyword_search(tokenize("pump diesel"), 5) == []
    assert texts_of(store, [h.key for h in store.dense_search(_unit(1, 9)[0], 5)]) == [
        "Only one chunk now"
    ]
    assert store.find_chunk(old_chunks[0].chunk_id) is None
    assert store.check_consistency() == []


@pytest.mark.parametrize("after", [0, 2])
def test_a_write_that_fails_midway_leaves_the_previous_version(
    make_store: MakeStore, after: int
) -> None:
    store = make_store()
    old, _, _ = write(store, "a.txt", TEXTS)
    new = document("a.txt", 3, "2")
    chunks = [chunk(new, i, f"new text {i}") for i in range(3)]
    vectors = dict(zip((c.text_hash for c in chunks), _unit(3, 5), strict=True))
    with pytest.raises(RuntimeError, match="died"):
        store.replace_document(new, chunks, _Exploding(vectors, after))
    assert store.documents() == [old]
    assert [c.text for c in store.chunks(old.doc_id)] == TEXTS
    found = store.dense_search(vectors[chunks[0].text_hash], 10)
    assert sorted(texts_of(store, [h.key for h in found])) == sorted(TEXTS)
    assert store.keyword_search(["new"], 5) == []
    # The next write of the same document completes.
    store.replace_document(new, chunks, vectors)
    assert [c.text for c in store.chunks(new.doc_id)] == [c.text for c in chunks]
    assert store.check_consistency() == []


def test_a_first_write_that_fails_midway_leaves_nothing_and_can_be_redone(
    make_store: MakeStore,
) -> None:
    store = make_store()
    new = document("b.txt", 3)
    chunks = [chunk(new, i, f"fresh text {i}") for i in range(3)]
    vectors = dict(zip((c.text_hash for c in chunks), _unit(3, 9), strict=True))
    with pytest.raises(RuntimeError, match="died"):
        store.replace_document(new, chunks, _Exploding(vectors, 2))
    assert store.documents() == [] and store.keyword_search(["fresh"], 5) == []
    assert store.dense_search(vectors[chunks[0].text_hash], 5) == []
    store.replace_document(new, chunks, vectors)
    store.maintain()  # removes whatever the failed write left
    assert [c.text for c in store.chunks(new.doc_id)] == [c.text for c in chunks]
    assert len(store.dense_search(vectors[chunks[0].text_hash], 10)) == 3
    assert store.check_consistency() == []


def test_a_group_write_replaces_each_document(make_store: MakeStore) -> None:
    store = make_store()
    old, _, _ = write(store, "a.txt", TEXTS)
    group = [
        prepared("a.txt", ["The pump runs on petrol now"], version="2", seed=2),
        prepared("b.txt", ["熊猫吃竹子", "Tea grows on hills"], seed=3),
        prepared("c.txt", ["北京是中国的首都"], seed=4),
    ]
    store.replace_documents(group)
    assert store.documents() == [w.document for w in group]
    assert store.chunks(old.doc_id) == []
    assert store.stats().chunks == 4 and store.stats().documents == 3
    assert store.document_count() == 3
    keyword = store.keyword_search(tokenize("petrol 熊猫 首都"), 10)
    assert sorted(texts_of(store, [h.key for h in keyword])) == sorted(
        ["The pump runs on petrol now", "熊猫吃竹子", "北京是中国的首都"]
    )
    for w in group:
        for c in w.chunks:
            best = store.dense_search(w.vectors[c.text_hash], 1)
            assert texts_of(store, [best[0].key]) == [c.text]
    assert store.check_consistency() == []


def test_a_source_twice_in_a_group_keeps_the_last(make_store: MakeStore) -> None:
    store = make_store()
    write(store, "a.txt", TEXTS)
    first = prepared("a.txt", ["Version two of the pump"], version="2", seed=2)
    last = prepared("a.txt", ["Version three", "with tea"], version="3", seed=3)
    store.replace_documents([first, last])
    assert store.documents() == [last.document]
    assert [c.text for c in store.chunks(last.document.doc_id)] == ["Version three", "with tea"]
    assert store.keyword_search(tokenize("pump two"), 5) == []
    assert len(store.keyword_search(tokenize("three tea"), 5)) == 2
    store.maintain()
    assert len(store.dense_search(_unit(1, 7)[0], 10)) == 2
    assert store.check_consistency() == []


def test_a_group_refuses_a_missing_vector_before_writing(make_store: MakeStore) -> None:
    store = make_store()
    doc = document("b.txt", 1)
    windowed = chunk(doc, 0, "text", windows=("w1", "w2"))
    with pytest.raises(ValueError, match="lack a vector"):
        store.replace_documents(
            [prepared("a.txt", TEXTS), DocumentWrite(doc, [windowed], {"w1": _unit(1, 4)[0]})]
        )
    assert store.documents() == []


def test_a_missing_vector_is_refused_before_writing(make_store: MakeStore) -> None:
    store = make_store()
    doc = document("a.txt", 1)
    windowed = chunk(doc, 0, "text", windows=("w1", "w2"))
    with pytest.raises(ValueError, match="lack a vector"):
        store.replace_document(doc, [windowed], {"w1": _unit(1, 4)[0]})
    assert store.documents() == [] and store.find_document("a.txt") is None


def test_delete_removes_a_document_from_every_index(make_store: MakeStore) -> None:
    store = make_store()
    doc, chunks, vectors = write(store, "a.txt", TEXTS)
    keep, _, _ = write(store, "b.txt", ["Tea grows on hills"], seed=3)
    assert store.delete_document("a.txt") is True
    assert store.delete_document("a.txt") is False
    assert store.documents() == [keep] and store.find_document("a.txt") is None
    assert store.chunks(doc.doc_id) == [] and store.find_chunk(chunks[0].chunk_id) is None
    assert store.keyword_search(tokenize("首都 pump 熊猫"), 10) == []
    dense = store.dense_search(vectors[chunks[0].text_hash], 10)
    assert texts_of(store, [h.key for h in dense]) == ["Tea grows on hills"]
    store.maintain()  # shared vectors may wait for upkeep; then they are gone
    assert store.vectors([c.text_hash for c in chunks]) == {}
    assert store.stats().documents == 1 and store.stats().chunks == 1
    assert store.document_count() == 1
    assert store.check_consistency() == []


def test_chunks_round_trip_for_copying(make_store: MakeStore) -> None:
    store = make_store()
    doc = document("a.txt", 2)
    whole = chunk(doc, 0, "embedded whole")
    windowed = chunk(doc, 1, "two windows here", windows=("w1", "w2"))
    vectors = dict(zip((whole.text_hash, "w1", "w2"), _unit(3, 6), strict=True))
    store.replace_document(doc, [whole, windowed], vectors)
    assert store.chunk_records(doc.doc_id) == [whole, windowed]
    got = store.vectors([whole.text_hash, "w1", "w2", "unknown"])
    assert set(got) == {whole.text_hash, "w1", "w2"}
    for h, v in got.items():
        np.testing.assert_allclose(v, vectors[h], atol=1e-6)
    stored = store.chunks(doc.doc_id)[1]
    assert (stored.start, stored.end, stored.page, stored.heading_path) == (10, 26, 2, ("章", "节"))
    assert stored.source == "a.txt" and stored.doc_id == doc.doc_id


# -- search ----------------------------------------------------------------------------------


def test_a_chunk_scores_its_best_window(make_store: MakeStore) -> None:
    store = make_store()
    doc = document("a.txt", 2)
    whole = chunk(doc, 0, "embedded whole")
    windowed = chunk(doc, 1, "two windows", windows=("w1", "w2"))
    vectors = _unit(3, 7)
    store.replace_document(
        doc, [whole, windowed], dict(zip((whole.text_hash, "w1", "w2"), vectors, strict=True))
    )
    for query in (vectors[1], vectors[2]):
        best = store.dense_search(query, 2)
        assert texts_of(store, [best[0].key]) == ["two windows"]
        assert best[0].score == pytest.approx(1.0, abs=1e-4)
        assert len({h.key for h in best}) == len(best) == 2
    best = store.dense_search(vectors[0], 1)
    assert texts_of(store, [best[0].key]) == ["embedded whole"]


def test_scores_are_in_range_and_best_first(make_store: MakeStore) -> None:
    store = make_store()
    write(store, "a.txt", TEXTS)
    write(store, "b.txt", ["The pump pump pump", "diesel engines need diesel"], seed=2)
    for query in _unit(4, 11):
        hits = store.dense_search(query, 3)
        assert len(hits) == 3
        assert all(-1.0 - 1e-5 <= h.score <= 1.0 + 1e-5 for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    keyword = store.keyword_search(tokenize("pump diesel"), 10)
    assert len(keyword) == 3 and all(h.score >= 0 for h in keyword)
    assert [h.score for h in keyword] == sorted((h.score for h in keyword), reverse=True)
    assert texts_of(store, [keyword[0].key]) == ["The pump runs on diesel"]  # both terms
    assert store.keyword_search(tokenize("北京"), 10)[0].score > 0
    assert store.keyword_search([], 5) == [] and store.keyword_search(["absent"], 5) == []
    assert len(store.keyword_search(tokenize("pump diesel"), 1)) == 1


def test_search_within_documents(make_store: MakeStore) -> None:
    store = make_store()
    a, a_chunks, a_vectors = write(store, "a.txt", TEXTS)
    b, _, _ = write(store, "b.txt", ["The pump is old", "Tea again"], seed=2)
    query = a_vectors[a_chunks[1].text_hash]
    dense = store.dense_search(query, 10, within=[b.doc_id])
    assert sorted(texts_of(store, [h.key for h in dense])) == ["Tea again", "The pump is old"]
    keyword = store.keyword_search(tokenize("pump"), 10, within=[b.doc_id])
    assert texts_of(store, [h.key for h in keyword]) == ["The pump is old"]
    both = store.keyword_search(tokenize("pump"), 10, within=[a.doc_id, b.doc_id])
    assert len(both) == 2
    assert store.dense_search(query, 10, within=[]) == []
    assert store.keyword_search(tokenize("pump"), 10, within=["unknown"]) == []


def test_fetch_keeps_the_order_asked_and_skips_unknown_keys(make_store: MakeStore) -> None:
    store = make_store()
    doc, _, _ = write(store, "a.txt", TEXTS)
    keys = [c.key for c in store.chunks(doc.doc_id)]
    asked = [keys[2], 987654321, keys[0], keys[3]]
    assert texts_of(store, asked) == [TEXTS[2], TEXTS[0], TEXTS[3]]
    assert store.fetch([]) == []


# -- chunk edits -----------------------------------------------------------------------------


def test_edit_and_delete_one_chunk(make_store: MakeStore) -> None:
    store = make_store()
    _, chunks, _ = write(store, "a.txt", TEXTS)
    target = chunks[1]
    edit = ChunkEdit(
        "Windmills pump water", "t-edited", tuple(tokenize("Windmills pump water")), ("e1", "e2")
    )
    vectors = dict(zip(("e1", "e2"), _unit(2, 12), strict=True))
    assert store.edit_chunk(target.chunk_id, edit, vectors) is True
    assert store.edit_chunk("unknown", edit, vectors) is False
    edited = store.find_chunk(target.chunk_id)
    assert edited is not None and edited.text == "Windmills pump water"
    assert texts_of(store, [store.keyword_search(tokenize("windmills"), 5)[0].key]) == [edited.text]
    assert store.keyword_search(tokenize("diesel"), 5) == []
    assert texts_of(store, [store.dense_search(vectors["e2"], 1)[0].key]) == [edited.text]
    assert store.delete_chunk(target.chunk_id) is True
    assert store.delete_chunk(target.chunk_id) is False
    assert store.find_chunk(target.chunk_id) is None
    assert store.keyword_search(tokenize("windmills"), 5) == []
    assert [h.key for h in store.dense_search(vectors["e2"], 10)] == [
        c.key for c in store.fetch([h.key for h in store.dense_search(vectors["e2"], 10)])
    ]
    found = store.find_document("a.txt")
    assert found is not None and found.chunk_count == len(TEXTS) - 1
    store.maintain()
    assert store.check_consistency() == []


# -- concurrency and faults ------------------------------------------------------------------


def test_the_revision_moves_with_every_write_and_only_then(make_store: MakeStore) -> None:
    store = make_store()
    if store.revision() is None:
        pytest.skip("this backend keeps no revision: nothing derived from it is kept")
    seen = [store.revision()]
    _, chunks, vectors = write(store, "a.txt", TEXTS)
    seen.append(store.revision())
    store.replace_documents([prepared("b.txt", ["Tea grows on hills"], seed=3)])
    seen.append(store.revision())
    edit = ChunkEdit("Windmills pump water", "t-edited", ("windmills", "pump", "water"), ("e1",))
    store.edit_chunk(chunks[0].chunk_id, edit, {"e1": _unit(1, 12)[0]})
    seen.append(store.revision())
    store.delete_chunk(chunks[1].chunk_id)
    seen.append(store.revision())
    store.delete_document("b.txt")
    seen.append(store.revision())
    assert len(set(seen)) == len(seen), seen
    store.dense_search(vectors[chunks[2].text_hash], 5)
    store.keyword_search(["pump"], 5)
    store.maintain()
    assert store.revision() == seen[-1]


def test_readers_see_one_version_while_a_writer_replaces(make_store: MakeStore) -> None:
    store = make_store()
    versions = {v: [f"version {v} chunk {i} pump" for i in range(6)] for v in ("1", "2")}
    write(store, "a.txt", versions["1"])
    stop, problems = threading.Event(), []

    def read() -> None:
        while not stop.is_set():
            try:
                hits = store.keyword_search(["pump"], 20)
                found = store.fetch([h.key for h in hits])
                doc_ids = {c.doc_id for c in found}
                if len(doc_ids) > 1:
                    problems.append(f"mixed versions {doc_ids}")
            except Exception as exc:
                problems.append(repr(exc))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    for round_ in range(6):
        version = "2" if round_ % 2 == 0 else "1"
        write(store, "a.txt", versions[version], version=version, seed=round_)
    stop.set()
    for thread in readers:
        thread.join()
    assert problems == []
    assert [c.text for c in store.chunks("a.txt-v1")] == versions["1"]


def test_a_store_of_another_dimension_is_refused(backend: StoreBackend, tmp_path: Path) -> None:
    location = backend.locate("dims")
    backend.open(location, tmp_path, 8, create=True).close()
    try:
        with pytest.raises(EmbedderMismatchError, match="8"):
            backend.open(location, tmp_path, 16)
    finally:
        backend.drop(location, tmp_path)


def test_a_missing_store_is_not_found(backend: StoreBackend, tmp_path: Path) -> None:
    if backend.name == "embedded":
        pytest.skip("an embedded store is its folder; a missing one is a missing knowledge base")
    with pytest.raises(NotFoundError, match="chatkb_"):
        backend.open(backend.locate("never-made"), tmp_path, 8)


UNREACHABLE = {
    "pgvector": {
        "pgvector": {"dsn": "postgresql://chatkb:secret@127.0.0.1:9/chatkb", "timeout": 2}
    },
    "milvus": {"milvus": {"uri": "http://127.0.0.1:9", "timeout": 2}},
}


@pytest.mark.parametrize("name", sorted(UNREACHABLE))
def test_an_unreachable_server_is_a_clear_error(name: str, tmp_path: Path) -> None:
    settings = Settings(store={"backend": name, **UNREACHABLE[name]})  # type: ignore[arg-type]
    backend = make_backend(name, settings)
    location = backend.locate("t")
    assert "secret" not in str(location.to_json())
    with pytest.raises(BackendUnavailableError, match=r"127\.0\.0\.1:9") as caught:
        backend.open(location, tmp_path, 8, create=True)
    assert "secret" not in caught.value.message
    with pytest.raises(BackendUnavailableError, match=r"127\.0\.0\.1:9"):
        backend.check()
    backend.close()


def test_locations_round_trip() -> None:
    location = StoreLocation("pgvector", "postgresql://u@h/db", "chatkb_x_1")
    assert StoreLocation.from_json(location.to_json()) == location
    assert StoreLocation.from_json({}) == StoreLocation("embedded")
    assert replace(location, backend="milvus").backend == "milvus"


def test_milvus_maintain_removes_rows_of_a_failed_first_write(
    backend: StoreBackend, make_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Milvus writes a new document without scanning for old rows; maintain sweeps strays."""
    if backend.name != "milvus":
        pytest.skip("the other stores write a document in one transaction")
    from chatkb.store.milvus_store import MilvusStore

    store = make_store()
    assert isinstance(store, MilvusStore)
    insert = MilvusStore._insert

    def chunks_fail(self: MilvusStore, collection: str, rows: list[dict[str, object]]) -> None:
        if collection.endswith("_chunks"):
            raise RuntimeError("died")
        insert(self, collection, rows)

    new = document("c.txt", 3)
    chunks = [chunk(new, i, f"stray text {i}") for i in range(3)]
    vectors = dict(zip((c.text_hash for c in chunks), _unit(3, 4), strict=True))
    monkeypatch.setattr(MilvusStore, "_insert", chunks_fail)
    with pytest.raises(RuntimeError, match="died"):
        store.replace_document(new, chunks, vectors)
    monkeypatch.undo()
    windows = f"{store._location.name}_windows"
    assert len(store._query(windows, "version >= 0", ["source"])) == 3  # invisible strays
    assert store.dense_search(vectors[chunks[0].text_hash], 5) == []
    store.replace_document(new, chunks, vectors)
    store.maintain()
    assert len(store._query(windows, "version >= 0", ["source"])) == 3
    assert len(store.dense_search(vectors[chunks[0].text_hash], 5)) == 3
