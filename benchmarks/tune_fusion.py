"""Sweep fusion methods and weights on a built knowledge base, without re-embedding.

    python benchmarks/tune_fusion.py --home /tmp/zh-home --kb zh \
        ../shared/datasets/zh-dev/qa.jsonl [--dump /tmp/zh-candidates.json]

Each question is searched once by each retriever (200 candidates, scores kept); every
fusion setting is then scored from those lists, so a sweep takes seconds. Prints one line
per setting: recall@1/5/10, R@1000c/2000c/4000c, MRR@10, nDCG@10.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

POOL = 200


@dataclass(frozen=True)
class Candidates:
    """One question's dense and keyword rankings as (chunk key, score), best first."""

    question: str
    answers: tuple[str, ...]
    dense: tuple[tuple[int, float], ...]
    keyword: tuple[tuple[int, float], ...]


def collect(
    home: Path, kb_name: str, qa: Path, *, tokenizer: str = "default"
) -> tuple[list[Candidates], dict[int, str]]:
    os.environ["CHATKB_HOME"] = str(home)
    import numpy as np

    from chatkb.evaluation.qa import load_qa
    from chatkb.kb import Library
    from chatkb.settings import load_settings
    from chatkb.tokenize import tokenize

    settings = load_settings()
    kb = Library(settings).open(kb_name)
    embedder = kb.embedder()
    out: list[Candidates] = []
    for item in load_qa(qa):
        vector = embedder.embed([item.question], "query")[0]
        dense = kb.store.dense_search(np.asarray(vector), POOL)
        keyword = kb.store.keyword_search(tokenize(item.question, drop_stopwords=True), POOL)
        out.append(
            Candidates(
                item.question,
                item.answers,
                tuple((h.key, h.score) for h in dense),
                tuple((h.key, h.score) for h in keyword),
            )
        )
    keys = sorted({k for c in out for k, _ in (*c.dense, *c.keyword)})
    texts = {chunk.key: chunk.text for chunk in kb.store.fetch(keys)}
    return out, texts


Fusion = Callable[[Candidates], list[int]]


def rrf(k: int, wd: float, wk: float, depth: int) -> Fusion:
    def fuse(c: Candidates) -> list[int]:
        scores: dict[int, float] = {}
        for weight, ranking in ((wd, c.dense[:depth]), (wk, c.keyword[:depth])):
            for rank, (key, _) in enumerate(ranking, start=1):
                scores[key] = scores.get(key, 0.0) + weight / (k + rank)
        return sorted(scores, key=lambda key: -scores[key])

    return fuse


def _minmax(ranking: Sequence[tuple[int, float]]) -> dict[int, float]:
    if not ranking:
        return {}
    high, low = ranking[0][1], ranking[-1][1]
    span = (high - low) or 1.0
    return {key: (score - low) / span for key, score in ranking}


def score_fusion(alpha: float, depth: int) -> Fusion:
    """alpha * min-max(dense) + (1 - alpha) * min-max(BM25) over each retriever's list."""

    def fuse(c: Candidates) -> list[int]:
        dense, keyword = _minmax(c.dense[:depth]), _minmax(c.keyword[:depth])
        keys = set(dense) | set(keyword)
        total = {k: alpha * dense.get(k, 0.0) + (1 - alpha) * keyword.get(k, 0.0) for k in keys}
        return sorted(total, key=lambda key: -total[key])

    return fuse


def evaluate(
    candidates: Sequence[Candidates], texts: dict[int, str], fuse: Fusion
) -> dict[str, float]:
    from chatkb.evaluation.metrics import (
        BUDGETS,
        answer_rank,
        contains_answer,
        mrr_at,
        ndcg_at,
        recall_at,
        within_budget,
    )

    ranks: list[int | None] = []
    budget_hits = {b: 0 for b in BUDGETS}
    ndcg = 0.0
    for c in candidates:
        ranked = [texts[k] for k in fuse(c)[:20]]
        ranks.append(answer_rank(ranked[:10], c.answers))
        ndcg += ndcg_at([contains_answer(t, c.answers) for t in ranked], 10)
        for budget in BUDGETS:
            budget_hits[budget] += within_budget(ranked, c.answers, budget)
    n = max(len(candidates), 1)
    return {
        **{f"R@{k}": recall_at(ranks, k) for k in (1, 5, 10)},
        **{f"R@{b}c": budget_hits[b] / n for b in BUDGETS},
        "MRR@10": mrr_at(ranks, 10),
        "nDCG@10": ndcg / n,
    }


def settings_grid() -> list[tuple[str, Fusion]]:
    grid: list[tuple[str, Fusion]] = [
        ("dense only", rrf(60, 1, 0, 50)),
        ("bm25 only", rrf(60, 0, 1, 50)),
    ]
    for k in (5, 10, 20, 60):
        for wd, wk in ((1, 1), (1, 1.5), (1, 2), (1.5, 1), (2, 1)):
            for depth in (20, 50, 100):
                grid.append((f"rrf k={k} wd={wd} wk={wk} cand={depth}", rrf(k, wd, wk, depth)))
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        for depth in (20, 50, 100):
            grid.append((f"minmax alpha={alpha} cand={depth}", score_fusion(alpha, depth)))
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa", type=Path)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--kb", required=True)
    parser.add_argument("--dump", type=Path, help="cache the candidate lists here")
    args = parser.parse_args()
    if args.dump and args.dump.exists():
        data = json.loads(args.dump.read_text())
        candidates = [
            Candidates(
                c["question"],
                tuple(c["answers"]),
                *(tuple(map(tuple, c[x])) for x in ("dense", "keyword")),
            )
            for c in data["candidates"]
        ]
        texts = {int(k): v for k, v in data["texts"].items()}
    else:
        candidates, texts = collect(args.home, args.kb, args.qa)
        if args.dump:
            args.dump.write_text(
                json.dumps({"candidates": [c.__dict__ for c in candidates], "texts": texts})
            )
    for name, fuse in settings_grid():
        metrics = evaluate(candidates, texts, fuse)
        print(f"{name:<40} " + " ".join(f"{k} {v:.3f}" for k, v in metrics.items()), flush=True)


if __name__ == "__main__":
    main()
