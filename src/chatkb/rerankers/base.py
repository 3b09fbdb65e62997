"""The Reranker seam: score (query, passage) pairs, higher is more relevant, on 0..1."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol


class Reranker(Protocol):
    """Re-scores the passages fusion found for a query.

    ``name`` identifies the model in reports. ``rerank`` returns one score per passage, in
    the order given, each on 0..1 (a relevance probability: 0.5 is "as likely relevant as
    not"), and raises ``BackendUnavailableError`` when the model or server cannot be used.
    Models are loaded once, when the reranker is built, never per request.
    """

    name: str

    def rerank(self, query: str, passages: Sequence[str]) -> list[float]: ...


def to_probability(scores: Sequence[float]) -> list[float]:
    """Scores as 0..1: already-probabilities are kept, anything else is a logit (sigmoid).

    Servers differ: Jina and Cohere return probabilities, some cross-encoders raw logits.
    """
    if all(0.0 <= s <= 1.0 for s in scores):
        return [float(s) for s in scores]
    return [_sigmoid(s) for s in scores]


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1 / (1 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1 + exp)
