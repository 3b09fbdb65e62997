"""What one question may choose, in one frozen object built at each edge.

The CLI, ``/api``, the Chatchat routes, ``/v1``, MCP and ``chatkb eval`` each turn their own
request fields into an ``AskOptions``; the ask flow (chatkb.answer) and the search flow read
them in one place, ``resolve``, where a field left as None takes the configured value. So
"how deep does the reranker look" or "what temperature" is decided once, the same for every
interface. New choices are new fields with a None default: no signature changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from chatkb.filters import SearchFilter
from chatkb.llm.base import GenerationOptions
from chatkb.settings import Settings

T = TypeVar("T", int, float)


@dataclass(frozen=True)
class AskOptions:
    """Per-request choices; None means the configured value.

    ``min_relevance`` replaces ``retrieval.min_relevance`` (the "not in the knowledge base"
    cut; 0 answers whatever was found); ``score_threshold`` drops hits whose score is below
    it; ``rerank_depth`` is how many fused hits a reranker re-scores; ``rewrite`` turns the
    LLM's rewrite of a follow-up on or off (the question itself is always searched);
    ``language`` is the answer language (auto, zh, en; default: the knowledge base's);
    ``model`` is another model of the LLM server (server only).
    """

    top_k: int | None = None
    min_relevance: float | None = None
    score_threshold: float | None = None
    rerank_depth: int | None = None
    rewrite: bool | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] | None = None
    language: str | None = None
    filters: SearchFilter | None = None
    model: str | None = None

    def resolve(self, settings: Settings) -> ResolvedOptions:
        """Every choice decided: the request's where it made one, else the settings'."""
        top_k = self.top_k or settings.retrieval.top_k
        cut = settings.retrieval.min_relevance if self.min_relevance is None else self.min_relevance
        return ResolvedOptions(
            top_k=top_k,
            min_relevance=cut,
            score_threshold=self.score_threshold,
            rerank_depth=rerank_depth(settings, top_k, self.rerank_depth),
            rewrite=settings.retrieval.rewrite if self.rewrite is None else self.rewrite,
            generation=GenerationOptions(
                temperature=_pick(self.temperature, settings.llm.temperature),
                max_tokens=_pick(self.max_tokens, settings.llm.max_tokens),
                stop=tuple(self.stop or ()),
            ),
            language=self.language,
            filters=self.filters,
            model=self.model,
        )

    def but(self, **changes: object) -> AskOptions:
        """A copy with some fields changed (an edge adding what it alone knows)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ResolvedOptions:
    """``AskOptions`` with the settings filled in: what the flows actually use."""

    top_k: int
    min_relevance: float
    score_threshold: float | None
    rerank_depth: int
    rewrite: bool
    generation: GenerationOptions
    language: str | None
    filters: SearchFilter | None
    model: str | None


def rerank_depth(settings: Settings, top_k: int, requested: int | None = None) -> int:
    """How many fused hits a reranker re-scores: never fewer than are returned."""
    return max(requested or settings.reranker.candidates, top_k)


def _pick(value: T | None, default: T) -> T:
    return default if value is None else value
