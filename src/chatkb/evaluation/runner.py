"""Run a QA set through retrieval (and, with an LLM, through answering) and score it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from chatkb.answer import ask, find
from chatkb.evaluation import metrics as m
from chatkb.evaluation.qa import QAItem
from chatkb.kb import KnowledgeBase
from chatkb.llm import Answerer
from chatkb.models import Answer, Hit
from chatkb.options import AskOptions
from chatkb.rerankers import Reranker
from chatkb.retrieve import Retrieval
from chatkb.settings import Settings, as_json

# Enough hits for the largest context budget even with small chunks.
MIN_DEPTH = 20


@dataclass(frozen=True)
class HitRecord:
    """One retrieved chunk as the report shows it."""

    source: str
    score: float
    dense_score: float | None
    keyword_score: float | None
    relevant: bool
    chars: int

    @classmethod
    def from_hit(cls, hit: Hit, answers: Sequence[str]) -> HitRecord:
        return cls(
            source=hit.source,
            score=hit.score,
            dense_score=hit.dense_score,
            keyword_score=hit.keyword_score,
            relevant=m.contains_answer(hit.text, answers),
            chars=len(hit.text),
        )


@dataclass(frozen=True)
class AnswerRecord:
    text: str
    found: bool
    exact_match: float
    f1: float
    contains: bool
    citation_precision: float | None


@dataclass(frozen=True)
class QuestionResult:
    """Everything measured for one question."""

    item: QAItem
    rank: int | None
    doc_rank: int | None
    budgets: dict[int, bool]
    ndcg: float
    latency_s: float
    relevance: float
    found: bool
    hits: tuple[HitRecord, ...]
    answer: AnswerRecord | None = None


@dataclass(frozen=True)
class ProbeResult:
    """One question whose answer is not in the knowledge base."""

    item: QAItem
    relevance: float
    found: bool
    best_dense: float | None


@dataclass
class EvalRun:
    """The results of one ``chatkb eval`` run; ``metrics()`` sums them up."""

    kbs: tuple[str, ...]
    qa: str
    top_k: int
    config: dict[str, object]
    results: list[QuestionResult] = field(default_factory=list)
    probe: list[ProbeResult] = field(default_factory=list)
    probe_qa: str | None = None
    model: str | None = None


def evaluate(
    kbs: Sequence[KnowledgeBase],
    items: Sequence[QAItem],
    settings: Settings,
    *,
    top_k: int = 10,
    answerer: Answerer | None = None,
    reranker: Reranker | None = None,
    unanswerable: Sequence[QAItem] = (),
) -> EvalRun:
    """Score ``items`` on ``kbs``; answers are generated (and scored) only with a generative
    ``answerer``, from the same retrieval that was scored (one search per question)."""
    generative = answerer if answerer is not None and answerer.generative else None
    run = EvalRun(
        kbs=tuple(kb.name for kb in kbs),
        qa="",
        top_k=top_k,
        config=as_json(settings.retrieval),
        model=None if generative is None else generative.name,
    )
    for item in items:
        result, found = _score_question(kbs, item, settings, top_k, reranker)
        if generative is not None:
            result = _with_answer(result, found, kbs, settings, generative)
        run.results.append(result)
    run.probe = [_probe(kbs, item, settings, reranker) for item in unanswerable]
    return run


def _score_question(
    kbs: Sequence[KnowledgeBase],
    item: QAItem,
    settings: Settings,
    top_k: int,
    reranker: Reranker | None,
) -> tuple[QuestionResult, Retrieval]:
    started = time.perf_counter()
    found = _search(kbs, item.question, settings, max(top_k, MIN_DEPTH), reranker)
    latency = time.perf_counter() - started
    hits = found.hits
    texts = [h.text for h in hits]
    relevant = [m.contains_answer(t, item.answers) for t in texts]
    result = QuestionResult(
        item=item,
        rank=m.answer_rank(texts[:top_k], item.answers),
        doc_rank=m.doc_rank(
            [h.source for h in hits[:top_k]], [h.doc_id for h in hits[:top_k]], item.doc_id
        ),
        budgets={b: m.within_budget(texts, item.answers, b) for b in m.BUDGETS},
        ndcg=m.ndcg_at(relevant, 10),
        latency_s=latency,
        relevance=found.relevance.score,
        found=found.relevance.found,
        hits=tuple(HitRecord.from_hit(h, item.answers) for h in hits[:top_k]),
    )
    return result, found


def _search(
    kbs: Sequence[KnowledgeBase],
    query: str,
    settings: Settings,
    top_k: int,
    reranker: Reranker | None,
) -> Retrieval:
    return find(kbs, query, settings, options=AskOptions(top_k=top_k), reranker=reranker)


def _with_answer(
    result: QuestionResult,
    found: Retrieval,
    kbs: Sequence[KnowledgeBase],
    settings: Settings,
    answerer: Answerer,
) -> QuestionResult:
    # The answer sees the configured number of passages of the retrieval just scored.
    top = Retrieval(found.hits[: settings.retrieval.top_k], found.relevance)
    stream = ask(kbs, result.item.question, settings, answerer=answerer, retrieval=top)
    answer = stream.result()
    record = score_answer(answer, result.item.answers)
    return QuestionResult(**{**result.__dict__, "answer": record})


def score_answer(answer: Answer, references: Sequence[str]) -> AnswerRecord:
    """Exact match, token F1 and containment against the references; citation precision."""
    cited = answer.citations
    precision = (
        sum(m.contains_answer(c.text, references) for c in cited) / len(cited) if cited else None
    )
    return AnswerRecord(
        text=answer.answer,
        found=answer.found,
        exact_match=m.exact_match(answer.answer, references),
        f1=m.token_f1(answer.answer, references),
        contains=m.contains_answer(answer.answer, references),
        citation_precision=precision,
    )


def _probe(
    kbs: Sequence[KnowledgeBase], item: QAItem, settings: Settings, reranker: Reranker | None
) -> ProbeResult:
    found = _search(kbs, item.question, settings, settings.retrieval.top_k, reranker)
    best = max((h.dense_score for h in found.hits if h.dense_score is not None), default=None)
    return ProbeResult(item, found.relevance.score, found.relevance.found, best)
