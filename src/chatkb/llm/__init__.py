"""LLM backends by registered name (``Settings.llm.backend``)."""

from __future__ import annotations

from chatkb.llm.base import ChatModel, GenerationOptions
from chatkb.registry import Registry
from chatkb.settings import LLMSettings

__all__ = ["LLMS", "ChatModel", "GenerationOptions", "make_chat_model"]

# "extractive" maps to None: no generative model, answers are picked sentences.
LLMS: Registry[ChatModel | None] = Registry("llm")


@LLMS.register("extractive")
def _extractive(settings: LLMSettings) -> ChatModel | None:
    return None


@LLMS.register("openai")
def _openai(settings: LLMSettings) -> ChatModel | None:
    from chatkb.llm.openai_chat import OpenAIChat

    return OpenAIChat(settings)


def make_chat_model(settings: LLMSettings) -> ChatModel | None:
    """The configured chat model, or None for the extractive answerer."""
    return LLMS.get(settings.backend)(settings)
