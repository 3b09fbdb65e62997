"""The embedded store's dense index: it follows the catalog's log, in both tiers, across
processes, through checkpoints, damage, trimming, tier changes and kills.

Vectors here are synthetic: this file tests the index's mechanics (what it returns after
which writes), not a model's quality. They are clustered in a low-dimensional subspace, with
the large shared offset real sentence embeddings have, so the approximate tier meets the kind
of structure it meets in real corpora. Retrieval quality on real embeddings is measured by
``chatkb eval`` on the dev sets (docs/retrieval.md), and speed by benchmarks/bench_scale.py.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from _kill import kill_during_work
from chatkb.store import dense_files
from chatkb.store.base import ChunkEdit, ChunkRecord, DocumentRecord
from chatkb.store.dense import DenseIndex, DenseTuning
from chatkb.store.embedded import EmbeddedStore

DIM = 32
EXACT = DenseTuning(exact_max_rows=1_000_000)
# Probes that cover every cell at these sizes: the approximate code paths (cells, int8
# codes, exact re-scoring) with answers that must equal exact search.
APPROX = DenseTuning(exact_max_rows=0, probes=4096)


class Corpus:
    """Documents of chunks with one or two vectors each (sentence windows)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        basis = self.rng.normal(size=(8, DIM))
        self.centers = self.rng.normal(size=(40, 8)) @ basis
        self.basis = basis
        self.offset = self.rng.normal(size=DIM) * 3

    def vector(self) -> np.ndarray:
        center = self.centers[self.rng.integers(len(self.centers))]
        v = self.offset + center + 0.6 * self.rng.normal(size=8) @ self.basis
        v = v + 0.2 * self.rng.normal(size=DIM)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def document(
        self, source: str, chunks: int, version: int = 0
    ) -> tuple[DocumentRecord, list[ChunkRecord], dict[str, np.ndarray]]:
        doc_id = f"{source}@{version}"
        records, vectors = [], {}
        for i in range(chunks):
            text = f"{source} chunk {i} version {version}"
            windows: tuple[str, ...] = ()
            if i % 2:  # every other chunk has two windows
                windows = (f"{text} w1", f"{text} w2")
            for h in windows or (text,):
                vectors[h] = self.vector()
            records.append(
                ChunkRecord(
                    f"{doc_id}-{i}",
                    doc_id,
                    i,
                    text,
                    0,
                    len(text),
                    None,
                    (),
                    text,
                    tuple(text.split()),
                    windows,
                )
            )
        now = "2026-01-01T00:00:00+00:00"
        document = DocumentRecord(
            doc_id, source, f"/x/{source}", "txt", None, f"h{version}", 1, chunks, 10, now, now
        )
        return document, records, vectors


def fill(store: EmbeddedStore, corpus: Corpus, documents: int, chunks: int = 20) -> None:
    for d in range(documents):
        store.replace_document(*corpus.document(f"doc{d}.txt", chunks))


def exact_top(store: EmbeddedStore, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The truth: every stored row scored, each chunk by its best row."""
    rows = store.connection().execute(
        "SELECT c.id, v.vector FROM chunks c JOIN vectors v ON v.text_hash = c.text_hash "
        "WHERE NOT EXISTS (SELECT 1 FROM windows w WHERE w.chunk = c.id) UNION ALL "
        "SELECT w.chunk, v.vector FROM windows w JOIN vectors v ON v.text_hash = w.text_hash"
    )
    best: dict[int, float] = {}
    for key, blob in rows:
        score = float(np.frombuffer(blob, dtype=np.float32) @ query)
        best[key] = max(best.get(key, -2.0), score)
    return sorted(best.items(), key=lambda item: -item[1])[:k]


def queries(corpus: Corpus, n: int) -> list[np.ndarray]:
    return [corpus.vector() for _ in range(n)]


@pytest.mark.parametrize("tuning", [EXACT, APPROX], ids=["exact", "approximate"])
def test_every_write_is_seen_by_the_next_search_of_another_process(
    tmp_path: Path, tuning: DenseTuning
) -> None:
    corpus = Corpus()
    writer = EmbeddedStore(tmp_path, DIM, tuning)
    fill(writer, corpus, 10)
    reader = EmbeddedStore(tmp_path, DIM, tuning)  # the server, while the CLI writes
    probe = queries(corpus, 1)[0]
    assert reader.dense_search(probe, 5)

    document, records, vectors = corpus.document("new.txt", 3)
    target = next(iter(vectors.values()))
    writer.replace_document(document, records, vectors)
    hit = reader.dense_search(target, 1)[0]
    assert reader.fetch([hit.key])[0].source == "new.txt" and hit.score == pytest.approx(1.0)

    document, records, vectors = corpus.document("new.txt", 3, version=1)  # replaced
    writer.replace_document(document, records, vectors)
    assert reader.dense_search(target, 1)[0].score < 0.999

    replacement = next(iter(vectors.values()))
    writer.delete_document("new.txt")
    assert all(h.score < 0.999 for h in reader.dense_search(replacement, 3))

    victim = writer.chunks("doc3.txt@0")[0]
    edited = corpus.vector()
    writer.edit_chunk(victim.chunk_id, ChunkEdit("edited", "edited", ("edited",), ()),
                      {"edited": edited})  # fmt: skip
    hit = reader.dense_search(edited, 1)[0]
    assert reader.fetch([hit.key])[0].chunk_id == victim.chunk_id
    assert hit.score == pytest.approx(1.0)
    writer.delete_chunk(victim.chunk_id)
    assert reader.dense_search(edited, 1)[0].key != hit.key
    for query in queries(corpus, 5):
        assert _keys(reader.dense_search(query, 10)) == _keys(exact_top(reader, query, 10))
    writer.close()
    reader.close()


def _keys(hits: list) -> list[int]:  # type: ignore[type-arg]
    return [h.key if hasattr(h, "key") else h[0] for h in hits]


def test_the_approximate_tier_finds_what_exact_search_finds_with_exact_scores(
    tmp_path: Path,
) -> None:
    corpus = Corpus(1)
    tuning = DenseTuning(exact_max_rows=0, probes=16, min_scan_rows=0)  # cells really pruned
    store = EmbeddedStore(tmp_path, DIM, tuning)
    fill(store, corpus, 60, chunks=50)  # 3,000 chunks, 4,500 vectors
    found = total = 0
    for query in queries(corpus, 40):
        hits = store.dense_search(query, 10)
        truth = dict(exact_top(store, query, 200))
        assert all(h.score == pytest.approx(truth[h.key], abs=1e-5) for h in hits)
        found += len({h.key for h in hits} & set(list(truth)[:10]))
        total += 10
    assert found / total >= 0.98
    index = store._dense._index
    assert index is not None and not index.exact and index.cells >= 4 * 16
    store.close()


def test_a_filter_is_searched_in_the_approximate_tier(tmp_path: Path) -> None:
    corpus = Corpus(2)
    store = EmbeddedStore(tmp_path, DIM, APPROX)
    fill(store, corpus, 30, chunks=40)
    for query in queries(corpus, 5):
        for sources in (["doc3.txt"], [f"doc{i}.txt" for i in range(30) if i != 7]):
            ids = [f"{s}@0" for s in sources]
            hits = store.dense_search(query, 5, within=ids)
            assert hits and {c.doc_id for c in store.fetch([h.key for h in hits])} <= set(ids)
        only = store.dense_search(query, 5, within=["doc3.txt@0"])
        truth = [k for k, _ in exact_top(store, query, 2000) if k in _chunk_keys(store, "doc3")]
        assert _keys(only) == truth[:5]
    store.close()


def _chunk_keys(store: EmbeddedStore, source: str) -> set[int]:
    return {c.key for c in store.chunks(f"{source}.txt@0")}


def test_a_published_checkpoint_is_opened_instead_of_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = Corpus(3)
    store = EmbeddedStore(tmp_path, DIM, APPROX)
    fill(store, corpus, 20)
    store.maintain()  # publishes a checkpoint and trims the log it holds
    assert dense_files.current_seq(tmp_path / "dense") > 0
    assert store.connection().execute("SELECT count(*) FROM dense_log").fetchone()[0] == 0
    store.replace_document(*corpus.document("after.txt", 5))  # logged after the checkpoint
    probes = queries(corpus, 5)
    expected = [store.dense_search(q, 10) for q in probes]

    def no_build(self: DenseIndex, conn: object) -> None:
        raise AssertionError("opened by rebuilding")

    monkeypatch.setattr(DenseIndex, "_build", no_build)
    other = EmbeddedStore(tmp_path, DIM, APPROX)
    assert [other.dense_search(q, 10) for q in probes] == expected
    other.close()
    store.close()


def test_a_damaged_or_foreign_checkpoint_costs_a_rebuild_only(tmp_path: Path) -> None:
    corpus = Corpus(4)
    store = EmbeddedStore(tmp_path, DIM, EXACT)
    fill(store, corpus, 10)
    store.maintain()
    probe = queries(corpus, 1)[0]
    expected = _keys(exact_top(store, probe, 10))
    folder = next(p for p in (tmp_path / "dense").iterdir() if p.is_dir())
    (folder / "codes.npy").write_bytes(b"garbage")
    assert _keys(EmbeddedStore(tmp_path, DIM, EXACT).dense_search(probe, 10)) == expected
    (tmp_path / "dense" / "index.json").write_text("{not json")
    assert _keys(EmbeddedStore(tmp_path, DIM, EXACT).dense_search(probe, 10)) == expected
    (tmp_path / "dense" / ".tmp-1-dead").mkdir()  # a save killed half way
    store.replace_document(*corpus.document("more.txt", 4))
    store.maintain()
    assert _keys(EmbeddedStore(tmp_path, DIM, EXACT).dense_search(probe, 10)) == _keys(
        exact_top(store, probe, 10)
    )
    store.close()


def test_a_reader_behind_a_trimmed_log_opens_again(tmp_path: Path) -> None:
    corpus = Corpus(5)
    writer = EmbeddedStore(tmp_path, DIM, APPROX)
    fill(writer, corpus, 5)
    reader = EmbeddedStore(tmp_path, DIM, APPROX)
    probe = queries(corpus, 1)[0]
    reader.dense_search(probe, 5)  # its index holds the log as it is now
    for d in range(5, 40):  # more than a search applies itself, then trimmed away
        writer.replace_document(*corpus.document(f"doc{d}.txt", 20))
    writer.maintain()
    assert writer.connection().execute("SELECT count(*) FROM dense_log").fetchone()[0] == 0
    deadline = time.monotonic() + 30
    while _keys(reader.dense_search(probe, 10)) != _keys(exact_top(reader, probe, 10)):
        assert time.monotonic() < deadline, "the reader never caught up"
        time.sleep(0.05)
    writer.close()
    reader.close()


def test_a_catalog_from_before_the_log_is_indexed_whole(tmp_path: Path) -> None:
    corpus = Corpus(6)
    store = EmbeddedStore(tmp_path, DIM, EXACT)
    fill(store, corpus, 5)
    store.close()
    conn = store.connection()  # make it look like a knowledge base made by chatkb 0.1
    for trigger in ("insert", "delete", "update"):
        conn.execute(f"DROP TRIGGER dense_log_{trigger}")
    conn.execute("DROP TABLE dense_log")
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'dense_log'")
    (tmp_path / "dense.npy").write_bytes(b"an old matrix")
    store.close()
    reopened = EmbeddedStore(tmp_path, DIM, EXACT)
    probe = queries(corpus, 1)[0]
    assert _keys(reopened.dense_search(probe, 10)) == _keys(exact_top(reopened, probe, 10))
    reopened.replace_document(*corpus.document("doc9.txt", 3))  # the log runs from here
    assert _keys(reopened.dense_search(probe, 10)) == _keys(exact_top(reopened, probe, 10))
    reopened.close()


def test_the_index_changes_tier_in_the_background_as_it_grows(tmp_path: Path) -> None:
    corpus = Corpus(7)
    tuning = DenseTuning(exact_max_rows=400, probes=64)
    store = EmbeddedStore(tmp_path, DIM, tuning)
    fill(store, corpus, 2)
    probe = queries(corpus, 1)[0]
    store.dense_search(probe, 5)
    assert store._dense._index is not None and store._dense._index.exact
    for d in range(2, 30):
        store.replace_document(*corpus.document(f"doc{d}.txt", 20))
        assert _keys(store.dense_search(probe, 10)) == _keys(exact_top(store, probe, 10))
    store.maintain()
    index = store._dense._index
    assert index is not None and not index.exact
    assert _keys(store.dense_search(probe, 10)) == _keys(exact_top(store, probe, 10))
    for d in range(2, 30):  # and back to exact when it shrinks
        store.delete_document(f"doc{d}.txt")
    store.maintain()
    assert store._dense._index is not None and store._dense._index.exact
    store.close()


_KILLED_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_dense_index import Corpus, DIM
from chatkb.store.dense import DenseTuning
from chatkb.store.embedded import EmbeddedStore
store = EmbeddedStore(Path({folder!r}), DIM, DenseTuning(exact_max_rows=300, probes=64))
corpus = Corpus(int(sys.argv[1]))
for round in range(1000):
    for d in range(8):
        store.replace_document(*corpus.document(f"doc{{d}}.txt", 25, version=round))
        store.dense_search(corpus.vector(), 5)
    store.maintain()
    print("round", round, flush=True)
"""


@pytest.mark.slow
def test_kills_during_writes_rebuilds_and_checkpoints_leave_a_consistent_index(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER.format(tests=str(Path(__file__).parent), folder=str(folder)))
    rng = np.random.default_rng(0)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for attempt in range(8):
        # At least one round of rebuilds and checkpoints has run when it is killed.
        kill_during_work([sys.executable, str(script), str(attempt)], rng, env)
        store = EmbeddedStore(folder, DIM, DenseTuning(exact_max_rows=300, probes=64))
        assert store.check_consistency() == []
        for query in queries(Corpus(99 + attempt), 3):
            assert _keys(store.dense_search(query, 10)) == _keys(exact_top(store, query, 10))
        store.close()


def test_snapshots_survive_writes_made_after_them(tmp_path: Path) -> None:
    corpus = Corpus(8)
    store = EmbeddedStore(tmp_path, DIM, APPROX)
    fill(store, corpus, 10)
    probe = queries(corpus, 1)[0]
    store.dense_search(probe, 5)
    index = store._dense._index
    assert index is not None
    snapshot = index.snapshot()
    before = sum(len(k) for k in snapshot.keys)
    store.replace_document(*corpus.document("late.txt", 30))
    store.dense_search(probe, 5)
    assert sum(len(k) for k in snapshot.keys) == before
    assert dense_files.save(tmp_path / "dense", snapshot, 1, DIM)
    assert not dense_files.save(tmp_path / "dense", snapshot, 1, DIM)  # never goes back
    store.close()


@pytest.mark.parametrize("approximate", [False, True])
def test_a_staged_write_changes_nothing_searches_see_until_published(approximate: bool) -> None:
    """A write is worked out beside the index (its arrays grown, cells compacted) and only
    publishing it changes what a search finds: searches wait for the publishing alone."""
    from chatkb.store.ivf import train
    from chatkb.store.vector_index import VectorIndex

    corpus = Corpus(seed=3)
    vectors = np.stack([corpus.vector() for _ in range(600)])
    quantizer = train(vectors, 8) if approximate else None
    index = VectorIndex(DIM, quantizer)
    keys = np.repeat(np.arange(300, dtype=np.int64), 2)  # two rows a chunk
    index.apply(np.zeros(0, np.int64), keys, index.prepare(vectors))
    queries = [corpus.vector() for _ in range(5)]

    def answers(ix: VectorIndex) -> list[list[int]]:
        return [ix.best(q, 10, nprobe=8)[0].tolist() for q in queries]

    before = answers(index)
    removed = np.arange(0, 200, dtype=np.int64)  # two thirds of the rows: cells compact
    added = np.repeat(np.arange(300, 700, dtype=np.int64), 2)  # the arrays must grow
    new_vectors = np.stack([corpus.vector() for _ in range(len(added))])
    change = index.stage(removed, added, index.prepare(new_vectors))
    assert answers(index) == before
    assert index.live_rows == 600

    index.publish(change)
    assert index.live_rows == 600 - 400 + 800
    # The same as an index that was given the same rows in one go.
    fresh = VectorIndex(DIM, quantizer)
    kept = keys >= 200
    fresh.apply(
        np.zeros(0, np.int64),
        np.concatenate([keys[kept], added]),
        fresh.prepare(np.concatenate([vectors[kept], new_vectors])),
    )
    assert answers(index) == answers(fresh)
    found = set(np.concatenate(answers(index)).tolist())
    assert not found & set(removed.tolist())
