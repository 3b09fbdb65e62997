"""Hybrid retrieval: dense (cosine) and keyword (BM25) rankings, fused, optionally reranked.

Score scale (docs/architecture.md#scores): without a reranker a hit's ``score`` is its
fused score divided by the best possible one, so 1.0 means "ranked first by every
retriever"; with a reranker it is the reranker's relevance probability (0..1). Both are
comparable across stores and knowledge bases. ``dense_score`` (cosine) and
``keyword_score`` (BM25) are kept beside it for thresholds and debugging.

Fusion is weighted reciprocal-rank fusion (``rrf``) or a weighted sum of min-max
normalised scores (``minmax``); docs/retrieval.md has the measurements behind the defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from chatkb.crosslingual import Rankings, search_by_script
from chatkb.filters import SearchFilter
from chatkb.kb import KnowledgeBase
from chatkb.models import Hit
from chatkb.relevance import (
    COVERAGE_HITS,
    Relevance,
    Signals,
    foreign_weights_for,
    probability,
    signals_from,
    weights_for,
)
from chatkb.rerankers import Reranker
from chatkb.settings import RetrievalSettings
from chatkb.splitter import with_headings
from chatkb.store.base import ScoredKey, StoredChunk
from chatkb.tokenize import is_cjk_text, tokenize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Fused:
    kb: KnowledgeBase
    key: int
    score: float
    dense: float | None
    keyword: float | None


@dataclass(frozen=True)
class Retrieval:
    """What ``search`` found: the hits, and whether they answer the query at all."""

    hits: list[Hit]
    relevance: Relevance


@dataclass(frozen=True)
class _Candidates:
    """A reading's fused hits and the dense cosines the refusal gate reads; after a
    two-script search also each script's own cosines (the query's script's, the other's)
    and the question's translated words (chatkb.crosslingual.Rankings)."""

    fused: list[_Fused]
    dense_scores: list[float]
    by_script: tuple[list[float], list[float]] | None = None
    translated_words: Sequence[Sequence[str]] = ()


def retrieve(
    kbs: Sequence[KnowledgeBase],
    query: str,
    settings: RetrievalSettings,
    *,
    top_k: int | None = None,
    filters: SearchFilter | None = None,
    reranker: Reranker | None = None,
) -> list[Hit]:
    """The ``top_k`` best chunks for ``query`` across one or more knowledge bases."""
    return search(kbs, query, settings, top_k=top_k, filters=filters, reranker=reranker).hits


@dataclass(frozen=True)
class Query:
    """One reading of the question; several are fused by their weights (``search``)."""

    text: str
    weight: float = 1.0


def search(
    kbs: Sequence[KnowledgeBase],
    query: str,
    settings: RetrievalSettings,
    *,
    top_k: int | None = None,
    filters: SearchFilter | None = None,
    reranker: Reranker | None = None,
    rerank_candidates: int = 20,
    extra_queries: Sequence[Query] = (),
    min_relevance: float | None = None,
) -> Retrieval:
    """Hits for ``query`` plus the calibrated "is it in the knowledge base" decision.

    ``extra_queries`` (a follow-up's rewrite, its context query) are searched too and fused
    with ``query`` by weight: a chunk's score is the weighted mean of its fused score under
    each reading. The decision is the most confident reading's. ``min_relevance`` replaces
    the configured cut.
    """
    top_k = top_k or settings.top_k
    queries = [Query(query), *extra_queries]
    readings = [_search_all(kbs, q.text, settings, filters) for q in queries]
    fused = _combine(readings, [q.weight for q in queries])
    rerank_scores: list[float] | None = None
    if reranker is not None and fused:
        texts = [q.text for q in queries]
        fused, rerank_scores = _rerank(reranker, texts, fused[: max(rerank_candidates, top_k)])
    hits = _to_hits(fused[: max(top_k, COVERAGE_HITS)], multi=len(kbs) > 1)
    top_rerank = rerank_scores[0] if rerank_scores else None
    profiles = {kb.config.dense_profile() for kb in kbs}
    profile = profiles.pop() if len(profiles) == 1 else None
    passages = [_passage(h) for h in hits]
    decisions = [
        decide(
            signals_from(
                q.text,
                r.dense_scores,
                _in_script(q.text, passages) if r.by_script else passages,
                top_rerank,
                by_script=r.by_script,
                translated_words=r.translated_words,
                foreign_texts=_in_script(q.text, passages, own=False) if r.by_script else (),
            ),
            hits,
            settings,
            profile=profile,
            min_relevance=min_relevance,
        )
        for q, r in zip(queries, readings, strict=True)
    ]
    return Retrieval(hits[:top_k], max(decisions, key=lambda d: d.score))


def _in_script(query: str, passages: Sequence[str], *, own: bool = True) -> list[str]:
    """The passages in the query's script (or the other): after a two-script search the
    keyword coverage signals are read from each script apart, the question's tokens in its
    own and its translation's in the other (a passage of the other language ranked first
    would read as no coverage and refuse a question answered in its own language)."""
    cjk = is_cjk_text(query)
    return [p for p in passages if (is_cjk_text(p) == cjk) == own]


def _search_all(
    kbs: Sequence[KnowledgeBase],
    query: str,
    settings: RetrievalSettings,
    filters: SearchFilter | None,
) -> _Candidates:
    """One query over every knowledge base: their fused hits, and the best KB's cosines."""
    fused: list[_Fused] = []
    dense_scores: list[float] = []
    by_script: tuple[list[float], list[float]] | None = None
    translated_words: Sequence[Sequence[str]] = ()
    for kb in kbs:
        found = _search_one(kb, query, settings, filters)
        fused.extend(found.fused)
        translated_words = translated_words or found.translated_words  # the same for every KB
        if _best(found.dense_scores) > _best(dense_scores):
            dense_scores, by_script = found.dense_scores, found.by_script
    return _Candidates(fused, dense_scores, by_script, translated_words)


def _combine(readings: Sequence[_Candidates], weights: Sequence[float]) -> list[_Fused]:
    """The weighted mean of each chunk's fused score over the readings, best first."""
    if len(readings) == 1:
        return sorted(readings[0].fused, key=lambda f: f.score, reverse=True)
    total = sum(weights) or 1.0
    merged: dict[tuple[str, int], _Fused] = {}
    for reading, weight in zip(readings, weights, strict=True):
        for item in reading.fused:
            ref = (item.kb.name, item.key)
            seen = merged.get(ref)
            score = weight / total * item.score + (seen.score if seen else 0.0)
            dense = _higher(item.dense, seen.dense if seen else None)
            keyword = _higher(item.keyword, seen.keyword if seen else None)
            merged[ref] = _Fused(item.kb, item.key, score, dense, keyword)
    return sorted(merged.values(), key=lambda f: f.score, reverse=True)


def _higher(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _best(scores: list[float]) -> float:
    """The knowledge base whose best cosine is highest supplies the dense signals."""
    return scores[0] if scores else -2.0


def _search_one(
    kb: KnowledgeBase, query: str, settings: RetrievalSettings, filters: SearchFilter | None
) -> _Candidates:
    candidates = max(settings.candidates, settings.top_k)
    within = kb.scope(filters)  # the store searches only these documents
    vector = None
    if settings.dense_weight > 0:
        vector = np.asarray(kb.embedder().embed([query], "query")[0])
    tokens = tokenize(query, drop_stopwords=True) if settings.keyword_weight > 0 else []
    if settings.cross_lingual == "by-script":
        split = search_by_script(
            kb,
            query,
            vector,
            tokens,
            candidates,
            within,
            translate_query=settings.cross_lingual_dictionary and settings.keyword_weight > 0,
        )
        if split is not None:
            fused = fuse(kb, split.dense, split.keyword, settings, split)
            cosines = [h.score for h in split.dense]
            by_script = (split.own_cosines, split.foreign_cosines)
            return _Candidates(fused, cosines, by_script, split.translated_words)
    dense = kb.dense_search(vector, candidates, within) if vector is not None else []
    keyword = kb.keyword_search(tokens, candidates, within) if tokens else []
    fused = fuse(kb, dense, keyword, settings)
    return _Candidates(fused, [h.score for h in dense])


def fuse(
    kb: KnowledgeBase,
    dense: Sequence[ScoredKey],
    keyword: Sequence[ScoredKey],
    settings: RetrievalSettings,
    split: Rankings | None = None,
) -> list[_Fused]:
    """Fuse the two rankings into scores where 1.0 is the best same-script score.

    With a two-script search (``split``) the passages in the other script than the
    query's, which its keywords cannot match, are scored by the dense ranking at
    ``cross_lingual_weight``, plus the translated question's keyword ranking at the same
    weight times ``split.translation_weight``; hits keep their raw cosines
    (chatkb.crosslingual)."""
    foreign = split.foreign if split else frozenset()
    if settings.fusion == "minmax":
        bounds = split.own_range if split else None
        scores = _minmax_scores(dense, keyword, settings, foreign, bounds)
        translated = _unit_scale(split.foreign_keyword) if split else {}
    else:
        scores = _rrf_scores(dense, keyword, settings, foreign)
        translated = _rrf_units(split.foreign_keyword, settings.rrf_k) if split else {}
    if split and translated:
        weight = settings.cross_lingual_weight * split.translation_weight
        for key, value in translated.items():
            scores[key] = scores.get(key, 0.0) + weight * value
    dense_by_key = split.cosines if split else {h.key: h.score for h in dense}
    keyword_by_key = {h.key: h.score for h in keyword}
    if split:
        keyword_by_key |= {h.key: h.score for h in split.foreign_keyword}
    return [
        _Fused(kb, key, score, dense_by_key.get(key), keyword_by_key.get(key))
        for key, score in scores.items()
    ]


def _rrf_scores(
    dense: Sequence[ScoredKey],
    keyword: Sequence[ScoredKey],
    settings: RetrievalSettings,
    dense_alone: Collection[int] = (),
) -> dict[int, float]:
    """Weighted reciprocal-rank fusion, normalised so that the best possible score is 1."""
    k, wd, wk = settings.rrf_k, settings.dense_weight, settings.keyword_weight
    best = (wd + wk) / (k + 1)
    scores: dict[int, float] = {}
    for weight, ranking in ((wd, dense), (wk, keyword)):
        alone = (wd + wk) * settings.cross_lingual_weight if ranking is dense else 0.0
        for rank, hit in enumerate(ranking, start=1):
            own = alone if hit.key in dense_alone else weight
            scores[hit.key] = scores.get(hit.key, 0.0) + own / (k + rank) / best
    return scores


def _rrf_units(ranking: Sequence[ScoredKey], k: int) -> dict[int, float]:
    """A ranking's reciprocal ranks scaled so that the first is 1."""
    return {hit.key: (k + 1) / (k + rank) for rank, hit in enumerate(ranking, start=1)}


def _minmax_scores(
    dense: Sequence[ScoredKey],
    keyword: Sequence[ScoredKey],
    settings: RetrievalSettings,
    dense_alone: Collection[int] = (),
    dense_range: tuple[float, float] | None = None,
) -> dict[int, float]:
    """Each ranking's scores mapped to 0..1 over its candidates, then a weighted mean."""
    share = settings.minmax_dense_share
    weights = (share if settings.dense_weight > 0 else 0.0, 1 - share)
    if settings.keyword_weight == 0:
        weights = (1.0, 0.0)
    total = sum(weights) or 1.0
    alone = (settings.cross_lingual_weight, 0.0) if weights[0] > 0 else weights
    scores: dict[int, float] = {}
    for index, ranking in enumerate((dense, keyword)):
        units = _unit_scale(ranking, dense_range if index == 0 else None)
        for key, value in units.items():
            weight = alone[index] if key in dense_alone else weights[index] / total
            scores[key] = scores.get(key, 0.0) + weight * value
    return scores


def _unit_scale(
    ranking: Sequence[ScoredKey], bounds: tuple[float, float] | None = None
) -> dict[int, float]:
    """Scores mapped to 0..1 between the best and the last (or ``bounds``), clipped."""
    if not ranking:
        return {}
    high, low = bounds or (ranking[0].score, ranking[-1].score)
    span = high - low
    if span <= 0:
        return {h.key: 1.0 for h in ranking}
    return {h.key: min(1.0, max(0.0, (h.score - low) / span)) for h in ranking}


def _rerank(
    reranker: Reranker, queries: Sequence[str], fused: Sequence[_Fused]
) -> tuple[list[_Fused], list[float]]:
    """Re-score by the reranker; with several readings a passage keeps its best score."""
    chunks = _fetch(fused)
    present = [f for f in fused if (f.kb.name, f.key) in chunks]
    texts = [_chunk_passage(chunks[(f.kb.name, f.key)]) for f in present]
    per_query = [reranker.rerank(query, texts) for query in queries]
    scores = [max(column) for column in zip(*per_query, strict=True)] if texts else []
    order = sorted(range(len(present)), key=lambda i: scores[i], reverse=True)
    reranked = [
        _Fused(present[i].kb, present[i].key, scores[i], present[i].dense, present[i].keyword)
        for i in order
    ]
    return reranked, [scores[i] for i in order]


def _fetch(fused: Sequence[_Fused]) -> dict[tuple[str, int], StoredChunk]:
    """Chunks of the fused items, one query per knowledge base."""
    by_kb: dict[str, tuple[KnowledgeBase, list[int]]] = {}
    for item in fused:
        by_kb.setdefault(item.kb.name, (item.kb, []))[1].append(item.key)
    found: dict[tuple[str, int], StoredChunk] = {}
    for name, (kb, keys) in by_kb.items():
        for chunk in kb.fetch(keys):
            found[(name, chunk.key)] = chunk
    return found


def _to_hits(fused: Sequence[_Fused], *, multi: bool) -> list[Hit]:
    chunks = _fetch(fused)
    hits: list[Hit] = []
    for item in fused:
        chunk = chunks.get((item.kb.name, item.key))
        if chunk is None:  # removed between search and fetch
            continue
        hits.append(
            Hit(
                rank=len(hits) + 1,
                # A passage in the other script can sum past 1 with its translated
                # keyword score (fuse); scores stay 0..1 for clients and thresholds.
                score=min(1.0, item.score),
                text=chunk.text,
                source=chunk.source,
                doc_id=chunk.doc_id,
                chunk_id=chunk.chunk_id,
                page=chunk.page,
                start=chunk.start,
                end=chunk.end,
                heading_path=chunk.heading_path,
                dense_score=item.dense,
                keyword_score=item.keyword,
                kb=item.kb.name,
            )
        )
    return hits


def _chunk_passage(chunk: StoredChunk) -> str:
    return with_headings(chunk.text, chunk.heading_path)


def _passage(hit: Hit) -> str:
    return with_headings(hit.text, hit.heading_path)


def decide(
    signals: Signals,
    hits: Sequence[Hit],
    settings: RetrievalSettings,
    *,
    profile: str | None = None,
    min_relevance: float | None = None,
) -> Relevance:
    """Whether ``hits`` answer the query, by the configured rule (docs/retrieval.md).

    ``min_relevance`` (a request's own cut) replaces ``settings.min_relevance``."""
    if not hits:
        return Relevance(0.0, False, signals)
    if settings.relevance == "off":
        return Relevance(1.0, True, signals)
    if settings.relevance == "cosine":
        best = max((h.dense_score for h in hits if h.dense_score is not None), default=None)
        found = best is None or best >= settings.min_dense_score
        return Relevance(1.0 if found else 0.0, found, signals)
    weights = weights_for(profile, settings.relevance_weights, candidates=signals.candidates)
    foreign = foreign_weights_for(profile, candidates=signals.foreign_candidates)
    score = probability(signals, weights, foreign)
    cut = settings.min_relevance if min_relevance is None else min_relevance
    return Relevance(score, score >= cut, signals)
