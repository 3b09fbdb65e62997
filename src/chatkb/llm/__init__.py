"""LLM backends by registered name (``Settings.llm.backend``)."""

from __future__ import annotations

from chatkb.llm.base import ChatModel, GenerationOptions
from chatkb.llm.presets import auto_llm_settings, resolve_llm_settings
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


@LLMS.register("llamacpp")
def _llamacpp(settings: LLMSettings) -> ChatModel | None:
    from chatkb.llm.llamacpp import LlamaCppChat

    return LlamaCppChat(settings)


@LLMS.register("auto")
def _auto(settings: LLMSettings) -> ChatModel | None:
    # Ollama's chat model when an Ollama server answers, else the extractive answerer.
    resolved = auto_llm_settings(settings)
    return None if resolved is None else _openai(resolved)


def make_chat_model(settings: LLMSettings) -> ChatModel | None:
    """The configured chat model (presets applied), or None for the extractive answerer."""
    resolved = resolve_llm_settings(settings)
    return LLMS.get(resolved.backend)(resolved)
