"""Build a knowledge base from a folder, run a QA file, print ingest and retrieval figures.

    python benchmarks/bench_retrieval.py ../shared/datasets/en-dev/corpus \
        ../shared/datasets/en-dev/qa.jsonl [--chunk-size 600 --chunk-overlap 100 --threads 1]
        [--unanswerable ../shared/datasets/zh-dev/qa.jsonl] [--json run.json]

Prints ingest chunks/s and every ``chatkb eval`` metric (docs/eval.md): recall@1/3/5/10,
R@1000c/2000c/4000c, doc hit, MRR@10, nDCG@10, latency p50/p95, refusals. Uses a throw-away
CHATKB_HOME unless ``--home`` names one to reuse.
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--unanswerable", type=Path, default=None, help="refusal probe QA")
    parser.add_argument("--json", type=Path, default=None, help="write the whole run here")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="chatkb-bench-"))
    os.environ["CHATKB_HOME"] = str(home)
    os.environ["CHATKB_EMBEDDER__THREADS"] = str(args.threads)
    from chatkb.evaluation.qa import load_qa
    from chatkb.evaluation.runner import evaluate
    from chatkb.evaluation.summary import to_json
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
    chunks = int(summary["chunks"])  # type: ignore[call-overload]
    print(f"chunks           {chunks} ({embedded} texts embedded: windows and short chunks)")
    if embedded:
        rate = f"{chunks / elapsed:.2f} chunks/s, {embedded / elapsed:.2f} texts/s"
        print(f"ingest           {elapsed:.1f} s, {rate}")

    items = load_qa(args.qa)[: args.limit or None]
    probe = load_qa(args.unanswerable)[: args.limit or None] if args.unanswerable else []
    kb.embedder().embed(["warm-up"], "query")
    run = evaluate([kb], items, settings, top_k=10, unanswerable=probe)
    run.qa = str(args.qa)
    document = to_json(run)
    for key, value in document["metrics"].items():
        print(f"{key:<20} {value:.3f}" if isinstance(value, float) else f"{key:<20} {value}")
    if args.json:
        args.json.write_text(json.dumps(document, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
