"""The ask flow: question (+ follow-up readings) → retrieve → decide relevance → answer → cite."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace

from chatkb.kb import KnowledgeBase
from chatkb.llm import Answerer
from chatkb.llm.base import Usage, reported_usage
from chatkb.llm.prompts import not_found_text
from chatkb.models import Answer, Citation, Hit, Message
from chatkb.options import AskOptions
from chatkb.rerankers import Reranker
from chatkb.retrieve import Query, Retrieval, search
from chatkb.rewrite import context_query
from chatkb.settings import Settings

_MARKER = re.compile(r"\[(\d{1,3})\]")


class AnswerStream:
    """Iterate for text pieces as they arrive; ``result()`` gives the finished Answer.

    ``query`` is what was searched for: the question, or its standalone rewrite when a
    chat history was given to a generative model; ``relevance`` the calibrated probability
    that the answer is in the knowledge base.
    """

    def __init__(
        self,
        *,
        hits: Sequence[Hit],
        pieces: Iterator[str],
        model: str,
        extractive: bool,
        found: bool,
        query: str = "",
        relevance: float | None = None,
    ) -> None:
        self.hits = list(hits)
        self.model = model
        self.extractive = extractive
        self.found = found
        self.query = query
        self.relevance = relevance
        self._pieces = pieces
        self._text: list[str] = []

    @property
    def reported_usage(self) -> Usage | None:
        """The model server's token counts for this answer, once streamed (if it reports
        them; None for extractive answers and servers that do not)."""
        return reported_usage(self._pieces)

    def __iter__(self) -> Iterator[str]:
        try:
            for piece in self._pieces:
                self._text.append(piece)
                yield piece
        finally:
            # A reader that stops early (a client that hung up) must stop the model too:
            # closing the pieces closes the LLM server's stream, which ends its generation.
            self.close()

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()

    def result(self) -> Answer:
        for _ in self:  # drain whatever the caller did not read
            pass
        text = "".join(self._text)
        citations = self.citations(text)
        grounded = self.found and bool(citations)
        return Answer(text, citations, self.model, self.extractive, self.found, grounded=grounded)

    def citations(self, text: str) -> tuple[Citation, ...]:
        """The passages the answer cites by ``[n]``: none when it cites none (an answer
        that cites nothing is not grounded, and no list of sources should suggest it is)."""
        if not self.found:
            return ()
        cited = sorted({int(m) for m in _MARKER.findall(text) if 0 < int(m) <= len(self.hits)})
        return tuple(Citation.from_hit(n, self.hits[n - 1]) for n in cited)


# Follow-ups (docs/answers.md#follow-ups): the question is always searched; the LLM's
# rewrite, when faithful, and the context query (previous user question + this one) are
# fused beside it with these weights.
REWRITE_WEIGHT = 1.0
CONTEXT_WEIGHT = 1.0


def find(
    kbs: Sequence[KnowledgeBase],
    query: str,
    settings: Settings,
    *,
    options: AskOptions | None = None,
    reranker: Reranker | None = None,
    extra_queries: Sequence[Query] = (),
) -> Retrieval:
    """The search flow every interface shares: the same depth, cut and filters for all."""
    chosen = (options or AskOptions()).resolve(settings)
    retrieval = search(
        kbs,
        query,
        settings.retrieval,
        top_k=chosen.top_k,
        filters=chosen.filters,
        reranker=reranker,
        rerank_candidates=chosen.rerank_depth,
        extra_queries=extra_queries,
        min_relevance=chosen.min_relevance,
    )
    if chosen.score_threshold is None:
        return retrieval
    kept = [h for h in retrieval.hits if h.score >= chosen.score_threshold]
    return Retrieval(kept, retrieval.relevance)


def followup_queries(
    question: str, history: Sequence[Message], answerer: Answerer, *, rewrite: bool
) -> list[Query]:
    """The extra readings of a follow-up: the context query, and the LLM's rewrite."""
    extra: list[Query] = []
    context = context_query(question, history)
    if context is not None:
        extra.append(Query(context, CONTEXT_WEIGHT))
    rewritten = answerer.rewrite(question, history) if rewrite and context else None
    if rewritten:
        extra.append(Query(rewritten, REWRITE_WEIGHT))
    return extra


def ask(
    kbs: Sequence[KnowledgeBase],
    question: str,
    settings: Settings,
    *,
    answerer: Answerer,
    history: Sequence[Message] = (),
    options: AskOptions | None = None,
    reranker: Reranker | None = None,
    retrieval: Retrieval | None = None,
) -> AnswerStream:
    """Answer ``question`` from ``kbs`` with ``answerer`` (extractive or an LLM).

    The question is always searched; with a ``history`` its follow-up readings are fused
    beside it (``followup_queries``). ``options`` holds every per-request choice
    (chatkb.options). A caller that already searched passes its ``retrieval``. The prompt
    is the first knowledge base's template.
    """
    options = options or AskOptions()
    chosen = options.resolve(settings)
    extra = followup_queries(question, history, answerer, rewrite=chosen.rewrite)
    if retrieval is None:
        retrieval = find(
            kbs, question, settings, options=options, reranker=reranker, extra_queries=extra
        )
    hits, relevance = retrieval.hits, retrieval.relevance
    query = extra[-1].text if extra else question

    def stream(pieces: Iterator[str], *, found: bool) -> AnswerStream:
        return AnswerStream(
            hits=hits,
            pieces=pieces,
            model=answerer.name,
            extractive=not answerer.generative,
            found=found,
            query=query,
            relevance=relevance.score,
        )

    if not relevance.found or not hits:
        return stream(iter([not_found_text(question, [kb.name for kb in kbs])]), found=False)
    # Several knowledge bases: the first one named sets the prompt.
    template = kbs[0].config.prompt_template()
    if chosen.language:
        template = replace(template, answer_language=chosen.language)
    pieces = answerer.answer(question, hits, history, template, chosen.generation)
    return stream(pieces, found=True)
