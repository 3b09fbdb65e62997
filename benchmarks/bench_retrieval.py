"""Build a knowledge base from a folder, run a QA file, print ingest and retrieval figures.

    python benchmarks/bench_retrieval.py ../shared/datasets/en-dev/corpus \
        ../shared/datasets/en-dev/qa.jsonl [--chunk-size 500 --chunk-overlap 80 --threads 1]

Prints ingest chunks/s, query latency p50/p95 and recall@1/5/10, MRR@10 (a hit = a gold
answer string occurs in a returned chunk). Uses a throw-away CHATKB_HOME.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("qa", type=Path)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--chunk-overlap", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="embedder threads")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--home", type=Path, default=None, help="reuse/keep this CHATKB_HOME")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="chatkb-bench-"))
    os.environ["CHATKB_HOME"] = str(home)
    os.environ["CHATKB_EMBEDDER__THREADS"] = str(args.threads)
    from chatkb.evaluate import evaluate_retrieval, load_qa
    from chatkb.ingest import discover, ingest
    from chatkb.kb import Library
    from chatkb.settings import load_settings

    settings = load_settings()
    library = Library(settings)
    name = "bench"
    if name in library.names():
        kb = library.open(name)
    else:
        kb = library.create(name, chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    started = time.perf_counter()
    report = ingest(kb, discover([args.corpus]), settings)
    elapsed = time.perf_counter() - started
    summary = report.to_json()
    embedded = int(summary["embedded"])  # type: ignore[call-overload]
    print(f"corpus           {args.corpus}")
    print(f"chunking         {kb.config.chunk_size} chars, overlap {kb.config.chunk_overlap}")
    print(f"documents        {len(report.outcomes)} ({summary['failed']} failed)")
    print(f"chunks           {summary['chunks']} ({embedded} embedded)")
    if embedded:
        print(f"ingest           {elapsed:.1f} s, {embedded / elapsed:.2f} chunks/s")

    items = load_qa(args.qa)
    if args.limit:
        items = items[: args.limit]
    kb.embedder().embed(["warm-up"], "query")
    metrics = evaluate_retrieval([kb], items, settings.retrieval, top_k=10).metrics()
    for key, value in metrics.items():
        print(f"{key:<16} {value:.3f}" if isinstance(value, float) else f"{key:<16} {value}")


if __name__ == "__main__":
    main()
