"""The two flows as the server runs them: search, and ask (retrieve, answer, cite).

``start_answer`` is ``chatkb.answer.ask`` with what a chat request may choose: a score
threshold, a temperature, another model of the LLM server, and no knowledge base at all
(the plain LLM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from chatkb.answer import AnswerStream, ask
from chatkb.errors import ChatkbError, ConfigError
from chatkb.filters import SearchFilter
from chatkb.kb import KnowledgeBase
from chatkb.llm import ChatModel, GenerationOptions
from chatkb.models import Answer, Citation, Hit, Message
from chatkb.retrieve import retrieve
from chatkb.server import files as originals
from chatkb.server.chat_models import NO_LLM
from chatkb.server.state import ServerState


@dataclass(frozen=True)
class AskOptions:
    """Per-request choices; None means the configured value."""

    top_k: int | None = None
    filters: SearchFilter | None = None
    score_threshold: float | None = None
    temperature: float | None = None
    model: str | None = None
    max_tokens: int | None = None


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
    options: AskOptions | None = None,
) -> AnswerStream:
    """Retrieve now (blocking: call from a worker thread); the answer streams when iterated.

    ``options``, when given, replaces ``top_k`` and ``filters``. Without knowledge bases the
    chat model answers alone (a ``ConfigError`` when there is none).
    """
    options = options or AskOptions(top_k=top_k, filters=filters)
    chat_model = state.chat_models.get(options.model)
    llm = state.settings.llm
    temperature = llm.temperature if options.temperature is None else options.temperature
    max_tokens = llm.max_tokens if options.max_tokens is None else options.max_tokens
    generation = GenerationOptions(temperature, max_tokens)
    if not kbs:
        return _plain(chat_model, question, history, generation)
    return ask(
        kbs,
        question,
        state.settings,
        chat_model=chat_model,
        history=history,
        top_k=options.top_k,
        reranker=state.reranker,
        filters=options.filters,
        score_threshold=options.score_threshold,
        generation=generation,
    )


def _plain(
    chat_model: ChatModel | None,
    question: str,
    history: Sequence[Message],
    generation: GenerationOptions,
) -> AnswerStream:
    if chat_model is None:
        raise ConfigError(NO_LLM)
    pieces = chat_model.stream([*history, Message("user", question)], generation)
    return AnswerStream(
        hits=[], pieces=pieces, model=chat_model.name, extractive=False, found=True, query=question
    )


def citations_json(
    answer: Answer, stream: AnswerStream, kbs: Sequence[KnowledgeBase]
) -> list[dict[str, object]]:
    """The answer's citations, each with its knowledge base (``kb``) and the ``url`` of its
    original file (``#page=N`` for pages; None when no original is kept)."""
    return cited_json(answer.citations, stream, kbs)


def cited_json(
    citations: Sequence[Citation], stream: AnswerStream, kbs: Sequence[KnowledgeBase]
) -> list[dict[str, object]]:
    """``citations`` as JSON with ``kb`` and ``url`` (see ``citations_json``)."""
    by_name = {kb.name: kb for kb in kbs}
    cited = []
    for citation in citations:
        hit = stream.hits[citation.n - 1] if citation.n <= len(stream.hits) else None
        name = hit.kb if hit and hit.kb else (kbs[0].name if len(kbs) == 1 else None)
        kb = by_name.get(name) if name else None
        url = _original_url(kb, citation.source, citation.page) if kb else None
        cited.append({**citation.to_json(), "kb": name, "url": url})
    return cited


def _original_url(kb: KnowledgeBase, source: str, page: int | None) -> str | None:
    try:
        originals.original_path(kb, source)
    except ChatkbError:
        return None
    path = f"/api/kbs/{quote(kb.name, safe='')}/documents/{quote(source, safe='/')}/file"
    return path + (f"#page={page}" if page else "")


def sources_footer(answer: Answer) -> str:
    """Markdown list of the cited passages, appended to answers of text-only clients."""
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        where = c.source + (f", p. {c.page}" if c.page else "")
        lines.append(f"[{c.n}] {where}")
    return "\n\nSources:\n" + "\n".join(lines)
