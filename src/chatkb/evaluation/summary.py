"""An evaluation run summed up: the metrics table, the JSON document, run comparisons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chatkb.errors import InvalidInputError
from chatkb.evaluation import metrics as m
from chatkb.evaluation.runner import EvalRun, QuestionResult

FORMAT = "chatkb-eval/1"


def summarize(run: EvalRun) -> dict[str, float | int | None]:
    """Every metric of the run, by name (docs/eval.md defines each)."""
    results = run.results
    ranks = [r.rank for r in results]
    n = max(len(results), 1)
    out: dict[str, float | int | None] = {"questions": len(results)}
    out.update({f"recall@{k}": m.recall_at(ranks, k) for k in m.RECALL_KS})
    out.update({f"R@{b}c": sum(r.budgets[b] for r in results) / n for b in m.BUDGETS})
    doc_ranks = [r.doc_rank for r in results]
    out.update({f"doc_hit@{k}": m.recall_at(doc_ranks, k) for k in (1, 5)})
    out["mrr@10"] = m.mrr_at(ranks, 10)
    out["ndcg@10"] = sum(r.ndcg for r in results) / n
    latencies = [r.latency_s * 1000 for r in results]
    out["latency_p50_ms"] = m.percentile(latencies, 50)
    out["latency_p95_ms"] = m.percentile(latencies, 95)
    out["wrong_refusals"] = sum(not r.found for r in results) / n
    if run.probe:
        out["probe_questions"] = len(run.probe)
        out["correct_refusals"] = sum(not p.found for p in run.probe) / len(run.probe)
    out.update(_answer_metrics(results))
    return out


def _answer_metrics(results: Sequence[QuestionResult]) -> dict[str, float | int | None]:
    answered = [r.answer for r in results if r.answer is not None]
    if not answered:
        return {}
    n = len(answered)
    precisions = [a.citation_precision for a in answered if a.citation_precision is not None]
    return {
        "answer_em": sum(a.exact_match for a in answered) / n,
        "answer_f1": sum(a.f1 for a in answered) / n,
        "answer_contains": sum(a.contains for a in answered) / n,
        "citation_precision": sum(precisions) / len(precisions) if precisions else None,
    }


def to_json(run: EvalRun) -> dict[str, Any]:
    """The whole run as JSON: settings, metrics, one row per question and probe question."""
    return {
        "format": FORMAT,
        "kbs": list(run.kbs),
        "qa": run.qa,
        "probe_qa": run.probe_qa,
        "top_k": run.top_k,
        "model": run.model,
        "config": run.config,
        "metrics": summarize(run),
        "questions": [_question_json(r) for r in run.results],
        "probe": [
            {
                "id": p.item.id,
                "question": p.item.question,
                "relevance": round(p.relevance, 4),
                "found": p.found,
                "best_dense": p.best_dense,
            }
            for p in run.probe
        ],
    }


def _question_json(result: QuestionResult) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": result.item.id,
        "question": result.item.question,
        "answers": list(result.item.answers),
        "doc_id": result.item.doc_id,
        "rank": result.rank,
        "doc_rank": result.doc_rank,
        "budgets": {str(b): hit for b, hit in result.budgets.items()},
        "ndcg@10": round(result.ndcg, 4),
        "latency_ms": round(result.latency_s * 1000, 2),
        "relevance": round(result.relevance, 4),
        "found": result.found,
        "hits": [
            {
                "source": h.source,
                "score": round(h.score, 4),
                "dense_score": h.dense_score,
                "keyword_score": h.keyword_score,
                "relevant": h.relevant,
                "chars": h.chars,
            }
            for h in result.hits
        ],
    }
    if result.answer is not None:
        row["answer"] = dict(result.answer.__dict__)
    return row


def load_run(path: Path) -> dict[str, Any]:
    """A JSON file written by ``chatkb eval --json`` (for ``--compare``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"no such evaluation file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path} is not an evaluation JSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInputError(
            f"{path} is not a chatkb evaluation file; write one with chatkb eval NAME QA --json"
        )
    return data


def compare(current: dict[str, Any], other: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(metric, this run, other run) for every metric either run has."""
    names = list(dict.fromkeys([*current["metrics"], *other["metrics"]]))
    return [(n, current["metrics"].get(n), other["metrics"].get(n)) for n in names]
