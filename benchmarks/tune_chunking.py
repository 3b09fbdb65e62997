"""Build one knowledge base per chunking setting and score each with a few fusions.

    python benchmarks/tune_chunking.py ../shared/datasets/en-dev --root /tmp/chunks \
        --sizes 300:50,500:80,800:120 [--cache /tmp/vectors-en.sqlite]

Embedding is the slow part (2-4 chunks/s per core), so vectors are shared between builds
through ``--cache`` (an SQLite file keyed by the SHA-256 of the embedded text, like the
store's own vector table): a passage already embedded by an earlier build is not embedded
again. Prints, per setting, the chunk count and the metrics of ``tune_fusion.evaluate``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_fusion import collect, evaluate, rrf

FUSIONS = {
    "rrf k=60 1:1": rrf(60, 1, 1, 50),
    "rrf k=10 1:1": rrf(10, 1, 1, 50),
    "rrf k=10 1:1.5": rrf(10, 1, 1.5, 50),
    "dense only": rrf(60, 1, 0, 50),
    "bm25 only": rrf(60, 0, 1, 50),
}


def _open_cache(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS vectors (text_hash TEXT PRIMARY KEY, vector BLOB)")
    return conn


def build(dataset: Path, home: Path, size: int, overlap: int, cache: sqlite3.Connection) -> int:
    """Create and fill the KB ``bench`` in ``home``; returns how many passages were embedded."""
    os.environ["CHATKB_HOME"] = str(home)
    from chatkb.ingest import discover, ingest
    from chatkb.kb import Library
    from chatkb.settings import load_settings

    settings = load_settings()
    library = Library(settings)
    if "bench" in library.names():
        return 0
    kb = library.create("bench", chunk_size=size, chunk_overlap=overlap)
    rows = cache.execute("SELECT text_hash, vector FROM vectors").fetchall()
    if rows:
        vectors = np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in rows])
        kb.cache_vectors([h for h, _ in rows], vectors)
    report = ingest(kb, discover([dataset / "corpus"]), settings)
    fresh = kb.store.connection().execute("SELECT text_hash, vector FROM vectors").fetchall()
    cache.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", fresh)
    cache.commit()
    return int(report.to_json()["embedded"])  # type: ignore[call-overload]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a folder with corpus/ and qa.jsonl")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--sizes", default="300:50,500:80,800:120")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--seed-from", type=Path, nargs="*", default=[], help="catalog files")
    args = parser.parse_args()
    cache = _open_cache(args.cache or args.root / "vectors.sqlite")
    for catalog in args.seed_from:
        seed = sqlite3.connect(catalog).execute("SELECT text_hash, vector FROM vectors")
        cache.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", seed.fetchall())
        cache.commit()
    for pair in args.sizes.split(","):
        size, overlap = (int(x) for x in pair.split(":"))
        home = args.root / f"{args.dataset.name}-{size}-{overlap}"
        embedded = build(args.dataset, home, size, overlap, cache)
        candidates, texts = collect(home, "bench", args.dataset / "qa.jsonl")
        print(
            f"== {args.dataset.name} chunk {size}/{overlap}: {len(texts)} chunks seen, "
            f"{embedded} embedded",
            flush=True,
        )
        for name, fuse in FUSIONS.items():
            metrics = evaluate(candidates, texts, fuse)
            print(
                f"   {name:<16} " + " ".join(f"{k} {v:.3f}" for k, v in metrics.items()), flush=True
            )


if __name__ == "__main__":
    main()
