"""Collect the signals of the "not in the knowledge base" decision and fit its weights.

    python benchmarks/tune_relevance.py --home /tmp/zh --kb bench \
        ../shared/datasets/zh-dev/qa.jsonl ../shared/datasets/en-dev/qa.jsonl \
        --out /tmp/zh-signals.json [--hold-out 0.3]

The knowledge base is copied and a random share of its documents is removed from the
copy (``--hold-out``): questions about the kept documents are answerable, questions about
the removed ones are same-language negatives, and every question of the second QA file
(the other language) is a negative too. Each goes through the real ``search`` (with the
configured fusion) and its signals are saved. ``--fit a.json b.json`` fits the logistic
model on saved files and prints refusal rates at several thresholds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def collect(
    home: Path, kb_name: str, own: Path, other: Path, hold_out: float
) -> list[dict[str, object]]:
    copy = Path(tempfile.mkdtemp(prefix="chatkb-relevance-"))
    shutil.copytree(home / "kb" / kb_name, copy / "kb" / kb_name)
    os.environ["CHATKB_HOME"] = str(copy)
    from chatkb.evaluation.metrics import doc_key
    from chatkb.evaluation.qa import load_qa
    from chatkb.kb import Library
    from chatkb.retrieve import search
    from chatkb.settings import load_settings

    settings = load_settings()
    kb = Library(settings).open(kb_name)
    documents = sorted(kb.documents(), key=lambda d: d.source)
    removed = {
        d.source for d in random.Random(7).sample(documents, round(hold_out * len(documents)))
    }
    for source in removed:
        kb.remove_document(source)
    removed_keys = {doc_key(s) for s in removed}
    rows: list[dict[str, object]] = []
    for label, path in (("own", own), ("other", other)):
        for item in load_qa(path):
            kind = (
                "other"
                if label == "other"
                else ("own-held-out" if item.doc_id in removed_keys else "own")
            )
            found = search([kb], item.question, settings.retrieval)
            signals = found.relevance.signals
            rows.append(
                {
                    "id": item.id,
                    "kind": kind,
                    "answerable": kind == "own",
                    **(signals.__dict__ if signals else {}),
                }
            )
    shutil.rmtree(copy, ignore_errors=True)
    return rows


def fit(rows: Sequence[dict[str, object]], names: Sequence[str]) -> np.ndarray:
    """Logistic regression by Newton's method (a handful of features, no library needed)."""
    x = np.array([[1.0, *(float(r[n]) for n in names)] for r in rows])  # type: ignore[arg-type]
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (y - p) - 1e-3 * w
        hessian = (x.T * (p * (1 - p))) @ x + 1e-3 * np.eye(len(w))
        w += np.linalg.solve(hessian, gradient)
    return w


def report(rows: Sequence[dict[str, object]], names: Sequence[str], w: np.ndarray) -> None:
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        line = [f"p>={threshold:.1f}"]
        for kind in sorted({str(r["kind"]) for r in rows}):
            group = [r for r in rows if r["kind"] == kind]
            found = sum(_probability(r, names, w) >= threshold for r in group)
            share = found / len(group)
            label = "wrong refusals" if kind == "own" else "correct refusals"
            line.append(f"{kind}: {label} {1 - share:.3f}")
        print("  ".join(line))


def _probability(row: dict[str, object], names: Sequence[str], w: np.ndarray) -> float:
    z = w[0] + sum(wi * float(row[n]) for wi, n in zip(w[1:], names, strict=True))  # type: ignore[arg-type]
    return 1 / (1 + math.exp(-z))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa", type=Path, nargs="*")
    parser.add_argument("--home", type=Path)
    parser.add_argument("--kb", default="bench")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--fit", type=Path, nargs="*", default=[])
    parser.add_argument("--features", default="dense_margin,best_dense,coverage,coverage_top1")
    parser.add_argument("--hold-out", type=float, default=0.3)
    args = parser.parse_args()
    if args.home:
        rows = collect(args.home, args.kb, args.qa[0], args.qa[1], args.hold_out)
        args.out.write_text(json.dumps(rows))
    if args.fit:
        rows = [r for path in args.fit for r in json.loads(path.read_text())]
        names = args.features.split(",")
        w = fit(rows, names)
        print("weights (bias, " + ", ".join(names) + "):", np.round(w, 3).tolist())
        for path in args.fit:
            print(path.name)
            report(json.loads(path.read_text()), names, w)


if __name__ == "__main__":
    main()
