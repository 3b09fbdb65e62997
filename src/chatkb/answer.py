"""The ask flow: rewrite (with history) → retrieve → decide relevance → answer → cite."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from chatkb.filters import SearchFilter
from chatkb.kb import KnowledgeBase
from chatkb.llm import ChatModel, GenerationOptions
from chatkb.llm.extractive import NAME as EXTRACTIVE
from chatkb.llm.extractive import extractive_answer
from chatkb.llm.prompts import answer_messages, not_found_text
from chatkb.models import Answer, Citation, Hit, Message
from chatkb.rerankers import Reranker
from chatkb.retrieve import search
from chatkb.rewrite import rewrite_query
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
        return Answer(text, self.citations(text), self.model, self.extractive, self.found)

    def citations(self, text: str) -> tuple[Citation, ...]:
        """The passages the answer cites by ``[n]``; all of them if it cites none."""
        if not self.found:
            return ()
        cited = sorted({int(m) for m in _MARKER.findall(text) if 0 < int(m) <= len(self.hits)})
        numbers = cited or range(1, len(self.hits) + 1)
        return tuple(Citation.from_hit(n, self.hits[n - 1]) for n in numbers)


def ask(
    kbs: Sequence[KnowledgeBase],
    question: str,
    settings: Settings,
    *,
    chat_model: ChatModel | None,
    history: Sequence[Message] = (),
    top_k: int | None = None,
    reranker: Reranker | None = None,
    filters: SearchFilter | None = None,
    score_threshold: float | None = None,
    generation: GenerationOptions | None = None,
) -> AnswerStream:
    """Answer ``question`` from ``kbs``; extractive when ``chat_model`` is None.

    With a ``history`` and a generative model, the question is first rewritten into a
    standalone search query (chatkb.rewrite); the answer still sees the original turns.
    Hits scoring below ``score_threshold`` are dropped (none left: "not found"). The prompt
    is the first knowledge base's template; ``generation`` defaults to ``settings.llm``.
    """
    query = rewrite_query(question, history, chat_model)
    retrieval = search(
        kbs,
        query,
        settings.retrieval,
        top_k=top_k,
        filters=filters,
        reranker=reranker,
        rerank_candidates=settings.reranker.candidates,
    )
    hits, relevance = retrieval.hits, retrieval.relevance
    if score_threshold is not None:
        hits = [h for h in hits if h.score >= score_threshold]
    model = chat_model.name if chat_model else EXTRACTIVE

    def stream(pieces: Iterator[str], *, extractive: bool, found: bool) -> AnswerStream:
        return AnswerStream(
            hits=hits,
            pieces=pieces,
            model=model,
            extractive=extractive,
            found=found,
            query=query,
            relevance=relevance.score,
        )

    if not relevance.found or not hits:
        text = not_found_text(question, [kb.name for kb in kbs])
        return stream(iter([text]), extractive=chat_model is None, found=False)
    if chat_model is None:
        return stream(iter([extractive_answer(question, hits)]), extractive=True, found=True)
    generation = generation or GenerationOptions(settings.llm.temperature, settings.llm.max_tokens)
    # Several knowledge bases: the first one named sets the prompt.
    template = kbs[0].config.prompt_template()
    messages = answer_messages(question, hits, history, template=template)
    return stream(chat_model.stream(messages, generation), extractive=False, found=True)
