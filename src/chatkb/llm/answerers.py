"""The answerer seam: who turns retrieved passages into an answer.

Two real implementations instead of a ``None`` that every caller had to test for:
``ExtractiveAnswerer`` (no model: the best-matching source sentences) and ``LLMAnswerer``
(a ``ChatModel`` prompted with the numbered passages). Both can be asked for an answer,
a follow-up rewrite (the extractive one has none) and a plain chat (the extractive one
refuses with what to configure).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from chatkb.errors import ConfigError
from chatkb.llm.base import ChatModel, GenerationOptions
from chatkb.llm.extractive import NAME as EXTRACTIVE
from chatkb.llm.extractive import extractive_answer
from chatkb.llm.prompts import PromptTemplate, answer_messages
from chatkb.models import Hit, Message

NO_LLM = "plain chat and model choice need an LLM: set [llm] backend (docs/configuration.md)"


class Answerer(Protocol):
    """Answers a question from numbered passages; ``generative`` is False for quotes."""

    name: str
    generative: bool
    chat_model: ChatModel | None

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        history: Sequence[Message],
        template: PromptTemplate,
        options: GenerationOptions,
    ) -> Iterator[str]: ...

    def rewrite(self, question: str, history: Sequence[Message]) -> str | None:
        """A standalone version of a follow-up, or None when there is none to offer."""
        ...

    def chat(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        """The model alone, without passages (``ConfigError`` when there is no model)."""
        ...


class ExtractiveAnswerer:
    """No model: the retrieved sentences that best match the question, each cited."""

    name = EXTRACTIVE
    generative = False
    chat_model: ChatModel | None = None

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        history: Sequence[Message],
        template: PromptTemplate,
        options: GenerationOptions,
    ) -> Iterator[str]:
        yield extractive_answer(question, hits)

    def rewrite(self, question: str, history: Sequence[Message]) -> str | None:
        return None

    def chat(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        raise ConfigError(NO_LLM)


class LLMAnswerer:
    """A chat model prompted with the passages under the knowledge base's template."""

    generative = True

    def __init__(self, chat_model: ChatModel) -> None:
        self.chat_model: ChatModel | None = chat_model
        self._model = chat_model
        self.name = chat_model.name

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        history: Sequence[Message],
        template: PromptTemplate,
        options: GenerationOptions,
    ) -> Iterator[str]:
        messages = answer_messages(question, hits, history, template=template)
        return self._model.stream(messages, options)

    def rewrite(self, question: str, history: Sequence[Message]) -> str | None:
        from chatkb.rewrite import rewrite_query  # rewrite imports the llm package

        rewritten = rewrite_query(question, history, self._model)
        return None if rewritten == question else rewritten

    def chat(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        return self._model.stream(messages, options)


def answerer_for(chat_model: ChatModel | None) -> Answerer:
    """The answerer around ``chat_model``; the extractive one when there is none."""
    return ExtractiveAnswerer() if chat_model is None else LLMAnswerer(chat_model)
