"""Rerankers by registered name (``Settings.reranker.backend``); ``none`` turns reranking off."""

from __future__ import annotations

from chatkb.registry import Registry
from chatkb.rerankers.base import Reranker, to_probability
from chatkb.settings import RerankerSettings

__all__ = ["RERANKERS", "Reranker", "make_reranker", "to_probability"]

# "none" maps to None: retrieval keeps the fused order.
RERANKERS: Registry[Reranker | None] = Registry("reranker")


@RERANKERS.register("none")
def _none(settings: RerankerSettings) -> Reranker | None:
    return None


@RERANKERS.register("cross-encoder")
def _cross_encoder(settings: RerankerSettings) -> Reranker | None:
    from chatkb.rerankers.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(settings)


@RERANKERS.register("http")
def _http(settings: RerankerSettings) -> Reranker | None:
    from chatkb.rerankers.http import HttpReranker

    return HttpReranker(settings)


def make_reranker(settings: RerankerSettings) -> Reranker | None:
    """The configured reranker (its model loaded now, once), or None when it is off."""
    return RERANKERS.get(settings.backend)(settings)
