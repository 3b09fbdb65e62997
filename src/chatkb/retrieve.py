"""Hybrid retrieval: dense (cosine) and keyword (BM25) rankings fused by weighted RRF.

Score scale (docs/retrieval.md): a hit's ``score`` is its fused reciprocal-rank score divided
by the best possible one, so 1.0 means "ranked first by every retriever" and scores are
comparable across stores and knowledge bases. ``dense_score`` (cosine) and
``keyword_score`` (BM25) are kept beside it for thresholds and debugging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chatkb.kb import KnowledgeBase
from chatkb.models import Hit
from chatkb.settings import RetrievalSettings
from chatkb.store.base import ScoredKey
from chatkb.tokenize import tokenize


@dataclass(frozen=True)
class _Fused:
    kb: KnowledgeBase
    key: int
    score: float
    dense: float | None
    keyword: float | None


def retrieve(
    kbs: Sequence[KnowledgeBase],
    query: str,
    settings: RetrievalSettings,
    *,
    top_k: int | None = None,
) -> list[Hit]:
    """The ``top_k`` best chunks for ``query`` across one or more knowledge bases."""
    top_k = top_k or settings.top_k
    fused: list[_Fused] = []
    for kb in kbs:
        fused.extend(_search_one(kb, query, settings))
    fused.sort(key=lambda f: f.score, reverse=True)
    return _to_hits(fused[:top_k], multi=len(kbs) > 1)


def _search_one(kb: KnowledgeBase, query: str, settings: RetrievalSettings) -> list[_Fused]:
    candidates = max(settings.candidates, settings.top_k)
    dense: list[ScoredKey] = []
    if settings.dense_weight > 0:
        vector = kb.embedder().embed([query], "query")[0]
        dense = kb.store.dense_search(np.asarray(vector), candidates)
    keyword: list[ScoredKey] = []
    if settings.keyword_weight > 0:
        keyword = kb.store.keyword_search(tokenize(query, drop_stopwords=True), candidates)
    return fuse(kb, dense, keyword, settings)


def fuse(
    kb: KnowledgeBase,
    dense: Sequence[ScoredKey],
    keyword: Sequence[ScoredKey],
    settings: RetrievalSettings,
) -> list[_Fused]:
    """Weighted reciprocal-rank fusion, normalised so that the best possible score is 1."""
    k, wd, wk = settings.rrf_k, settings.dense_weight, settings.keyword_weight
    best = (wd + wk) / (k + 1)
    scores: dict[int, float] = {}
    for weight, ranking in ((wd, dense), (wk, keyword)):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.key] = scores.get(hit.key, 0.0) + weight / (k + rank)
    dense_by_key = {h.key: h.score for h in dense}
    keyword_by_key = {h.key: h.score for h in keyword}
    return [
        _Fused(kb, key, score / best, dense_by_key.get(key), keyword_by_key.get(key))
        for key, score in scores.items()
    ]


def _to_hits(fused: Sequence[_Fused], *, multi: bool) -> list[Hit]:
    hits: list[Hit] = []
    for item in fused:
        stored = item.kb.store.fetch([item.key])
        if not stored:  # removed between search and fetch
            continue
        chunk = stored[0]
        hits.append(
            Hit(
                rank=len(hits) + 1,
                score=item.score,
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


def is_relevant(hits: Sequence[Hit], settings: RetrievalSettings) -> bool:
    """Whether the best hit is related to the query at all (else: "not in the KB")."""
    best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=None)
    if best_dense is None:
        return bool(hits)
    return best_dense >= settings.min_dense_score
