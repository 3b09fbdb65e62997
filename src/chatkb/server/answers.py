"""The two flows as the server runs them: search, and ask (retrieve, answer, cite).

``start_answer`` is ``chatkb.answer.ask`` with what a chat request may choose
(``chatkb.options.AskOptions``: cut, threshold, depth, rewrite, generation, another model of
the LLM server) and no knowledge base at all (the plain LLM).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from chatkb.answer import AnswerStream, ask
from chatkb.answer import find as search_flow
from chatkb.errors import ChatkbError
from chatkb.kb import KnowledgeBase
from chatkb.llm import Answerer, GenerationOptions
from chatkb.models import Answer, Citation, Hit, Message
from chatkb.options import AskOptions
from chatkb.server import files as originals
from chatkb.server.state import ServerState


def find(
    state: ServerState,
    kbs: Sequence[KnowledgeBase],
    query: str,
    options: AskOptions | None = None,
    *,
    top_k: int | None = None,
) -> list[Hit]:
    """Hybrid retrieval (reranked when a reranker is configured); blocking. ``top_k`` is a
    shortcut for ``AskOptions(top_k=...)``."""
    options = options or AskOptions(top_k=top_k)
    return search_flow(kbs, query, state.settings, options=options, reranker=state.reranker).hits


def start_answer(
    state: ServerState,
    kbs: Sequence[KnowledgeBase],
    question: str,
    *,
    history: Sequence[Message] = (),
    options: AskOptions | None = None,
    top_k: int | None = None,
) -> AnswerStream:
    """Retrieve now (blocking: call from a worker thread); the answer streams when iterated.

    ``options`` holds the request's choices (``top_k`` is a shortcut for
    ``AskOptions(top_k=...)``). Without knowledge bases the chat model answers alone (a
    ``ConfigError`` when there is none).
    """
    options = options or AskOptions(top_k=top_k)
    answerer = state.chat_models.answerer(options.model)
    if not kbs:
        return _plain(answerer, question, history, options.resolve(state.settings).generation)
    return ask(
        kbs,
        question,
        state.settings,
        answerer=answerer,
        history=history,
        options=options,
        reranker=state.reranker,
    )


def _plain(
    answerer: Answerer,
    question: str,
    history: Sequence[Message],
    generation: GenerationOptions,
) -> AnswerStream:
    pieces = answerer.chat([*history, Message("user", question)], generation)
    return AnswerStream(
        hits=[], pieces=pieces, model=answerer.name, extractive=False, found=True, query=question
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


def sources_json(answer: Answer, citations: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """The cited documents, each once, with the numbers of its cited passages, its
    knowledge base and the ``url`` of its original (from ``citations_json``)."""
    by_n = {c["n"]: c for c in citations}
    listed = []
    for source in answer.sources():
        first = by_n.get(source.passages[0].n, {})
        url = first.get("url")
        listed.append(
            {
                **source.to_json(),
                "label": source.label,
                "kb": first.get("kb"),
                "url": url.split("#", 1)[0] if isinstance(url, str) else None,
            }
        )
    return listed


def sources_footer(answer: Answer) -> str:
    """Markdown list of the cited documents, each once with its passage numbers, appended to
    answers of text-only clients; empty when the answer cites nothing."""
    lines = [
        "".join(f"[{c.n}]" for c in source.passages) + f" {source.label}"
        for source in answer.sources()
    ]
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""
