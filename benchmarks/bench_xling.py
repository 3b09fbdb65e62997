"""Cross-lingual retrieval on one knowledge base holding en-dev and zh-dev (docs/retrieval.md).

    python benchmarks/bench_xling.py [--home DIR] [--modes off,by-script] [--limit N]
        [--same-language] [--dictionary on,off]

Builds (or reuses, with ``--home``) a knowledge base of both dev corpora, then runs the
translated question sets of tests/data/xling (Chinese questions over English articles and
the reverse) under each ``retrieval.cross_lingual`` mode, and with ``--same-language`` the
dev sets' own questions on the same mixed knowledge base; ``by-script`` runs with the
dictionary translation of the question on and, with ``--dictionary on,off``, off. Prints
R@2000c, MRR@10, recall@5 and wrong refusals per set and mode, and the CPU seconds each
run took.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import datasets_root

ROOT = Path(__file__).resolve().parents[1]
DATASETS = datasets_root()
XLING = ROOT / "tests" / "data" / "xling"
METRICS = ("R@2000c", "mrr@10", "recall@5", "wrong_refusals")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="reuse/keep this CHATKB_HOME")
    parser.add_argument("--modes", default="off,by-script", help="cross_lingual modes")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--same-language", action="store_true", help="also the dev sets")
    parser.add_argument("--dictionary", default="on", help="by-script: dictionary on,off")
    parser.add_argument("--threads", type=int, default=1, help="embedder threads")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="chatkb-xling-"))
    os.environ["CHATKB_HOME"] = str(home)
    os.environ["CHATKB_EMBEDDER__THREADS"] = str(args.threads)
    from chatkb.evaluation.qa import load_qa
    from chatkb.evaluation.runner import evaluate
    from chatkb.evaluation.summary import summarize
    from chatkb.ingest import discover, ingest
    from chatkb.kb import Library
    from chatkb.settings import load_settings

    library = Library(load_settings())
    name = "mixed"
    kb = library.open(name) if name in library.names() else library.create(name)
    corpora = [DATASETS / "en-dev" / "corpus", DATASETS / "zh-dev" / "corpus"]
    ingest(kb, discover(corpora), load_settings())
    sets = {"zh→en": XLING / "zh-over-en.jsonl", "en→zh": XLING / "en-over-zh.jsonl"}
    if args.same_language:
        sets |= {
            "en→en": DATASETS / "en-dev" / "qa.jsonl",
            "zh→zh": DATASETS / "zh-dev" / "qa.jsonl",
        }
    print(f"{'set':<7} {'mode':<18} " + " ".join(f"{m:>14}" for m in METRICS) + "   cpu_s")
    for label, path in sets.items():
        items = load_qa(path)[: args.limit or None]
        for mode, dictionary in _variants(args.modes, args.dictionary):
            retrieval = {"cross_lingual": mode, "cross_lingual_dictionary": dictionary}
            settings = load_settings(retrieval=retrieval)
            label_mode = mode if dictionary or mode == "off" else f"{mode}/no-dict"
            started = time.process_time()
            metrics = summarize(evaluate([kb], items, settings, top_k=10))
            cpu = time.process_time() - started
            values = " ".join(f"{float(metrics[m]):>14.3f}" for m in METRICS)
            print(f"{label:<7} {label_mode:<18} {values}   {cpu:.1f}", flush=True)
    print("uptime:", os.popen("uptime").read().strip())


def _variants(modes: str, dictionary: str) -> list[tuple[str, bool]]:
    """(mode, dictionary) pairs: the dictionary only matters to ``by-script``."""
    switches = [value == "on" for value in dictionary.split(",")]
    return [
        (mode, switch)
        for mode in modes.split(",")
        for switch in (switches if mode == "by-script" else [False])
    ]


if __name__ == "__main__":
    main()
