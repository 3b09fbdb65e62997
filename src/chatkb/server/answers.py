"""The two flows as the server runs them: search, and ask (retrieve, answer, cite)."""

from __future__ import annotations

from collections.abc import Sequence

from chatkb.answer import AnswerStream, ask
from chatkb.filters import SearchFilter
from chatkb.kb import KnowledgeBase
from chatkb.models import Answer, Hit, Message
from chatkb.retrieve import retrieve
from chatkb.server.state import ServerState


def find(
    state: ServerState,
    kbs: Sequence[KnowledgeBase],
    query: str,
    *,
    top_k: int | None = None,
    filters: SearchFilter | None = None,
) -> list[Hit]:
    """Hybrid retrieval (reranked when a reranker is configured); blocking."""
    settings = state.settings.retrieval
    return retrieve(kbs, query, settings, top_k=top_k, filters=filters, reranker=state.reranker)


def start_answer(
    state: ServerState,
    kbs: Sequence[KnowledgeBase],
    question: str,
    *,
    history: Sequence[Message] = (),
    top_k: int | None = None,
    filters: SearchFilter | None = None,
) -> AnswerStream:
    """Retrieve now (blocking: call from a worker thread); the answer streams when iterated."""
    return ask(
        kbs,
        question,
        state.settings,
        chat_model=state.chat_model,
        history=history,
        top_k=top_k,
        filters=filters,
        reranker=state.reranker,
    )


def sources_footer(answer: Answer) -> str:
    """Markdown list of the cited passages, appended to answers of text-only clients."""
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        where = c.source + (f", p. {c.page}" if c.page else "")
        lines.append(f"[{c.n}] {where}")
    return "\n\nSources:\n" + "\n".join(lines)
