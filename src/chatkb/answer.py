"""The ask flow: retrieve → decide relevance → answer (streamed) → cite."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from chatkb.kb import KnowledgeBase
from chatkb.llm import ChatModel, GenerationOptions
from chatkb.llm.extractive import NAME as EXTRACTIVE
from chatkb.llm.extractive import extractive_answer
from chatkb.llm.prompts import answer_messages, not_found_text
from chatkb.models import Answer, Citation, Hit, Message
from chatkb.retrieve import is_relevant, retrieve
from chatkb.settings import Settings

_MARKER = re.compile(r"\[(\d{1,3})\]")


class AnswerStream:
    """Iterate for text pieces as they arrive; ``result()`` gives the finished Answer."""

    def __init__(
        self,
        *,
        hits: Sequence[Hit],
        pieces: Iterator[str],
        model: str,
        extractive: bool,
        found: bool,
    ) -> None:
        self.hits = list(hits)
        self.model = model
        self.extractive = extractive
        self.found = found
        self._pieces = pieces
        self._text: list[str] = []

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            self._text.append(piece)
            yield piece

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
) -> AnswerStream:
    """Answer ``question`` from ``kbs``; extractive when ``chat_model`` is None."""
    hits = retrieve(kbs, question, settings.retrieval, top_k=top_k)
    model = chat_model.name if chat_model else EXTRACTIVE
    found = bool(hits) and is_relevant(hits, settings.retrieval)
    if not found:
        pieces = iter([not_found_text(question, [kb.name for kb in kbs])])
        return AnswerStream(
            hits=hits, pieces=pieces, model=model, extractive=not chat_model, found=False
        )
    if chat_model is None:
        pieces = iter([extractive_answer(question, hits)])
        return AnswerStream(hits=hits, pieces=pieces, model=model, extractive=True, found=True)
    options = GenerationOptions(settings.llm.temperature, settings.llm.max_tokens)
    pieces = chat_model.stream(answer_messages(question, hits, history), options)
    return AnswerStream(hits=hits, pieces=pieces, model=model, extractive=False, found=True)
