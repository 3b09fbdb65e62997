"""The embedded store's keyword index for large knowledge bases (``store/keyword_index.py``),
forced on small ones by lowering ``keyword_index_min_chunks``: it ranks as FTS5 does, sees
every write at once, in any process, keeps ``within``, and survives damage and kills.

The text is real (the en-dev and zh-dev corpora, split and tokenized by chatkb's own
pipeline); vectors are random, since only keyword search is under test here. Speed is
measured by benchmarks/bench_scale.py, never here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from _datasets import datasets_dir
from _kill import kill_during_work
from chatkb.store.base import ChunkEdit, ChunkRecord, DocumentRecord, ScoredKey
from chatkb.store.embedded import EmbeddedStore
from chatkb.tokenize import tokenize

DIM = 8
Document = tuple[DocumentRecord, list[ChunkRecord], dict[str, np.ndarray]]


@cache
def _base() -> tuple[tuple[DocumentRecord, tuple[ChunkRecord, ...]], ...]:
    """A few dev-set documents as chatkb indexes them."""
    from chatkb.ingest import SourceFile, _records, loader_options
    from chatkb.loaders import load_file
    from chatkb.prepare import Chunking, prepare
    from chatkb.settings import Settings

    settings = Settings()
    c = settings.chunking
    chunking = Chunking(c.chunk_size, c.chunk_overlap, c.window_chars)
    root = datasets_dir()
    files = sorted((root / "en-dev" / "corpus").iterdir())[:5]
    files += sorted((root / "zh-dev" / "corpus").iterdir())[:25]
    out = []
    for path in files:
        prepared = prepare(load_file(path, loader_options(settings)), chunking)
        record, records, _ = _records(SourceFile(path, path.name), prepared, "0" * 64, 0, None)
        out.append((record, tuple(records)))
    return tuple(out)


def document(index: int, version: int = 0) -> Document:
    """Base document ``index`` as version ``version``: its own ids, and a marker token in
    every chunk (``v<index>x<version>``) naming exactly that version."""
    record, records = _base()[index % len(_base())]
    doc_id = f"d{index}v{version}"
    marker = f"v{index}x{version}"
    chunks = [
        replace(
            r,
            chunk_id=f"{doc_id}-{r.index}",
            doc_id=doc_id,
            text_hash=f"{doc_id}-{r.index}",
            keywords=(*r.keywords, marker),
            windows=(),
        )
        for r in records
    ]
    rng = np.random.default_rng(index * 1000 + version)
    vectors = {c.text_hash: rng.normal(size=DIM).astype(np.float32) for c in chunks}
    source = f"doc{index}.txt"
    return replace(record, doc_id=doc_id, source=source, path=source), chunks, vectors


def tiered(folder: Path) -> EmbeddedStore:
    folder.mkdir(exist_ok=True)
    return EmbeddedStore(folder, DIM, keyword_index_min_chunks=1)


def questions() -> list[list[str]]:
    found = []
    for name in ("en-dev", "zh-dev"):
        with (datasets_dir() / name / "qa.jsonl").open(encoding="utf-8") as handle:
            found += [json.loads(line)["question"] for line in handle if line.strip()]
    return [t for q in found[::3] if (t := tokenize(q, drop_stopwords=True))]


def keys(hits: list[ScoredKey]) -> list[int]:
    return [h.key for h in hits]


def from_index(store: EmbeddedStore, terms: list[str], k: int = 10) -> list[int]:
    """The keyword index's own answer (never FTS5's)."""
    found = store._keywords.search(list(dict.fromkeys(terms)), k, None)
    assert found is not None, "the keyword index did not answer"
    return keys(found)


def chunk_keys(store: EmbeddedStore, doc_id: str) -> set[int]:
    rows = store.connection().execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))
    return {r[0] for r in rows}


def test_the_index_ranks_as_fts5_does_on_real_text(tmp_path: Path) -> None:
    fts5 = EmbeddedStore(tmp_path, DIM)  # the default threshold: FTS5 answers
    for i in range(len(_base())):
        fts5.replace_document(*document(i))
    fts5.close()
    store = tiered(tmp_path)
    store.refresh_indexes()
    assert (tmp_path / "keywords" / "index.json").is_file()
    overlaps, firsts = [], []
    for terms in questions():
        expected = keys(store._fts5_search(list(dict.fromkeys(terms)), 10, None))
        if not expected:
            continue
        got = from_index(store, terms)
        assert keys(store.keyword_search(terms, 10)) == got
        overlaps.append(len(set(got) & set(expected)) / len(expected))
        firsts.append(got[0] == expected[0])
    assert len(overlaps) > 40
    # BM25 both, k1 1.2 and b 0.75; the index's idf is ln(1 + …) where FTS5's is ln(…),
    # which reorders near-ties among common terms (docs/retrieval.md#the-keyword-index).
    assert float(np.mean(overlaps)) >= 0.9
    assert float(np.mean(firsts)) >= 0.85
    store.close()


def test_every_write_is_seen_at_once_by_this_process_and_another(tmp_path: Path) -> None:
    writer = tiered(tmp_path)
    for i in range(6):
        writer.replace_document(*document(i))
    writer.refresh_indexes()
    reader = tiered(tmp_path)  # the server, while the CLI writes
    assert set(from_index(reader, ["v1x0"], 100)) == chunk_keys(reader, "d1v0")

    writer.replace_document(*document(6))  # added
    writer.replace_document(*document(1, version=1))  # replaced
    assert writer.delete_document("doc2.txt")  # removed
    for store in (writer, reader):
        assert set(from_index(store, ["v6x0"], 100)) == chunk_keys(store, "d6v0")
        assert set(from_index(store, ["v1x1"], 100)) == chunk_keys(store, "d1v1")
        assert from_index(store, ["v1x0"]) == []
        assert from_index(store, ["v2x0"]) == []

    chunk = writer.chunks("d3v0")[0]
    edit = ChunkEdit("an edited chunk", "edited", ("edited", "zebrafish"), ())
    assert writer.edit_chunk(chunk.chunk_id, edit, {"edited": np.ones(DIM, np.float32)})
    assert writer.delete_chunk(writer.chunks("d3v0")[1].chunk_id)
    for store in (writer, reader):
        assert from_index(store, ["zebrafish"]) == [chunk.key]
        assert set(from_index(store, ["v3x0"], 100)) == chunk_keys(store, "d3v0") - {chunk.key}

    # The tail committed into the index: the same chunks match (their scores move a little,
    # the document counts now including the tail).
    asked = [["v6x0", "v1x1", *t] for t in questions()[:5]]
    before = [set(from_index(reader, terms, 1000)) for terms in asked]
    writer.refresh_indexes()
    assert [set(from_index(reader, terms, 1000)) for terms in asked] == before
    assert writer.check_consistency() == []
    writer.close()
    reader.close()


def test_a_process_below_the_threshold_moves_to_the_index_as_another_writes(
    tmp_path: Path,
) -> None:
    tmp_path.mkdir(exist_ok=True)
    writer = EmbeddedStore(tmp_path, DIM, keyword_index_min_chunks=150)
    writer.replace_document(*document(0))
    reader = EmbeddedStore(tmp_path, DIM, keyword_index_min_chunks=150)
    assert reader.keyword_search(["v0x0"], 10)
    assert reader._keywords.search(["v0x0"], 10, None) is None  # FTS5 answered
    for i in range(1, 8):
        writer.replace_document(*document(i))
    writer.maintain()  # past the threshold: the index is built
    assert set(from_index(reader, ["v7x0"], 100)) == chunk_keys(reader, "d7v0")
    writer.close()
    reader.close()


def test_within_keeps_to_its_documents_in_the_index_and_in_the_tail(tmp_path: Path) -> None:
    store = tiered(tmp_path)
    for i in range(6):
        store.replace_document(*document(i))
    store.refresh_indexes()
    store.replace_document(*document(7))  # in the tail
    scope = {"d1v0", "d7v0"}
    allowed = chunk_keys(store, "d1v0") | chunk_keys(store, "d7v0")
    met = set()
    for terms in questions()[:30]:
        hits = store.keyword_search([*terms, "v1x0", "v7x0"], 20, within=scope)
        assert hits and set(keys(hits)) <= allowed
        met |= set(keys(hits))
    assert met & chunk_keys(store, "d1v0") and met & chunk_keys(store, "d7v0")
    assert store.keyword_search(["v3x0"], 10, within=scope) == []
    store.close()


def test_a_damaged_missing_or_stale_index_is_rebuilt_never_trusted(tmp_path: Path) -> None:
    store = tiered(tmp_path)
    for i in range(4):
        store.replace_document(*document(i))
    store.refresh_indexes()
    expected = from_index(store, ["v2x0"], 100)
    store.close()
    folder = tmp_path / "keywords"
    published = json.loads((folder / "index.json").read_text())

    (folder / published["folder"] / "meta.json").write_text("not json")  # damaged
    again = tiered(tmp_path)
    again.refresh_indexes()
    assert from_index(again, ["v2x0"], 100) == expected
    again.close()

    published = json.loads((folder / "index.json").read_text())
    published["seq"] = 10**9  # ahead of the catalog: a catalog put back from a copy
    (folder / "index.json").write_text(json.dumps(published))
    again = tiered(tmp_path)
    again.refresh_indexes()
    assert json.loads((folder / "index.json").read_text())["seq"] < 10**9
    assert from_index(again, ["v2x0"], 100) == expected
    again.close()

    # An index that lost a document (as a bad copy would): caught when the next commit
    # finds fewer documents than the catalog has chunks.
    import tantivy

    published = json.loads((folder / "index.json").read_text())
    index = tantivy.Index.open(str(folder / published["folder"]))
    lost = index.writer(15_000_000, 1)
    lost.delete_documents_by_term("key", expected[0])
    lost.commit()
    del lost
    again = tiered(tmp_path)
    again.replace_document(*document(5))
    again.refresh_indexes()
    assert from_index(again, ["v2x0"], 100) == expected
    again.close()

    (folder / "index.json").unlink()  # missing
    again = tiered(tmp_path)
    assert again.keyword_search(["v2x0"], 100)  # answered (FTS5 or a fresh index)
    again.refresh_indexes()
    assert from_index(again, ["v2x0"], 100) == expected
    again.close()


def test_the_log_is_kept_for_the_index_until_it_has_committed_it(tmp_path: Path) -> None:
    store = tiered(tmp_path)
    for i in range(4):
        store.replace_document(*document(i))
    store.refresh_indexes()
    reader = tiered(tmp_path)
    assert from_index(reader, ["v1x0"], 100)
    store.replace_document(*document(1, version=1))
    store._keywords._fold = lambda *args, **kwargs: None  # type: ignore[method-assign]
    store.refresh_indexes()  # the dense index publishes; the keyword index did not commit
    floor = int(
        store.connection()
        .execute("SELECT value FROM meta WHERE key = 'dense_log_floor'")
        .fetchone()[0]
    )
    assert floor <= json.loads((tmp_path / "keywords" / "index.json").read_text())["seq"]
    assert set(from_index(reader, ["v1x1"], 100)) == chunk_keys(reader, "d1v1")
    assert from_index(reader, ["v1x0"]) == []
    store.close()
    reader.close()


_KILLED_WRITER = """
import sys
sys.path[:0] = [{tests!r}]
from pathlib import Path
from test_keyword_index import document, tiered
store = tiered(Path({folder!r}))
for round in range(1000):
    for d in range(6):
        store.replace_document(*document(d, version=round))
        store.keyword_search(["v%dx%d" % (d, round), "the"], 5)
    store.delete_document("doc6.txt")
    store.replace_document(*document(6, version=round))
    store.maintain()
    print("round", round, flush=True)
"""


@pytest.mark.slow
def test_kills_during_writes_and_commits_leave_a_consistent_index(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER.format(tests=str(Path(__file__).parent), folder=str(folder)))
    rng = np.random.default_rng(0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for _attempt in range(6):
        kill_during_work([sys.executable, str(script)], rng, env)  # builds, commits have run
        store = tiered(folder)
        assert store.check_consistency() == []
        versions = {d.doc_id for d in store.documents()}
        for doc_id in versions:  # the current version's chunks, and nothing of older ones
            index, version = (int(x) for x in doc_id[1:].split("v"))
            assert set(from_index(store, [f"v{index}x{version}"], 500)) == chunk_keys(store, doc_id)
            if version:
                assert from_index(store, [f"v{index}x{version - 1}"]) == []
        store.close()


def test_without_the_tantivy_wheel_fts5_answers_at_every_size(tmp_path: Path) -> None:
    script = f"""
import sys
sys.modules["tantivy"] = None  # as if the wheel were not installed
sys.path[:0] = [{str(Path(__file__).parent)!r}]
from pathlib import Path
from test_keyword_index import chunk_keys, document, tiered
store = tiered(Path({str(tmp_path)!r}))
store.replace_document(*document(0))
store.maintain()
hits = store.keyword_search(["v0x0"], 100)
assert {{h.key for h in hits}} == chunk_keys(store, "d0v0"), hits
assert not Path({str(tmp_path)!r}, "keywords").exists()
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
