"""Retrieval metrics on a QA set (lines like ../shared/datasets/*/qa.jsonl).

A hit is a retrieved chunk that contains one of the question's gold answer strings
(compared without whitespace, so line wraps and CJK spacing do not matter).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chatkb.errors import InvalidInputError
from chatkb.kb import KnowledgeBase
from chatkb.models import Hit
from chatkb.retrieve import retrieve
from chatkb.settings import RetrievalSettings


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_id: str | None = None


def load_qa(path: Path) -> list[QAItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                QAItem(str(row["id"]), row["question"], tuple(row["answers"]), row.get("doc_id"))
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path}:{number}: not a QA line ({exc})") from None
    return items


def _squash(text: str) -> str:
    return "".join(text.split())


def answer_rank(hits: Sequence[Hit], answers: Sequence[str]) -> int | None:
    """1-based rank of the first hit containing a gold answer, or None."""
    wanted = [_squash(a) for a in answers if a.strip()]
    for hit in hits:
        text = _squash(hit.text)
        if any(a in text for a in wanted):
            return hit.rank
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 / r for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def percentile(values: Sequence[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass(frozen=True)
class RetrievalReport:
    ranks: tuple[int | None, ...]
    latencies: tuple[float, ...]

    def metrics(self) -> dict[str, float]:
        return {
            "questions": len(self.ranks),
            **{f"recall@{k}": recall_at(self.ranks, k) for k in (1, 3, 5, 10)},
            "mrr@10": mrr_at(self.ranks, 10),
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p95_ms": percentile(self.latencies, 95) * 1000,
        }


def evaluate_retrieval(
    kbs: Sequence[KnowledgeBase],
    items: Sequence[QAItem],
    settings: RetrievalSettings,
    *,
    top_k: int = 10,
) -> RetrievalReport:
    ranks: list[int | None] = []
    latencies: list[float] = []
    for item in items:
        started = time.perf_counter()
        hits = retrieve(kbs, item.question, settings, top_k=top_k)
        latencies.append(time.perf_counter() - started)
        ranks.append(answer_rank(hits, item.answers))
    return RetrievalReport(tuple(ranks), tuple(latencies))
