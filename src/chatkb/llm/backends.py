"""The registered LLM backends (``Settings.llm.backend``), each made into an ``Answerer``."""

from __future__ import annotations

from chatkb.llm.answerers import Answerer, ExtractiveAnswerer, LLMAnswerer, answerer_for
from chatkb.llm.base import ChatModel
from chatkb.llm.presets import resolve_llm_settings
from chatkb.llm.servers import auto_llm_settings
from chatkb.registry import Registry
from chatkb.settings import LLMSettings

LLMS: Registry[Answerer] = Registry("llm")


@LLMS.register("extractive")
def _extractive(settings: LLMSettings) -> Answerer:
    return ExtractiveAnswerer()


@LLMS.register("openai")
def _openai(settings: LLMSettings) -> Answerer:
    from chatkb.llm.openai_chat import OpenAIChat

    return LLMAnswerer(OpenAIChat(settings))


@LLMS.register("llamacpp")
def _llamacpp(settings: LLMSettings) -> Answerer:
    from chatkb.llm.llamacpp import LlamaCppChat

    return LLMAnswerer(LlamaCppChat(settings))


@LLMS.register("auto")
def _auto(settings: LLMSettings) -> Answerer:
    # Ollama's chat model when an Ollama server answers, else the extractive answerer.
    resolved = auto_llm_settings(settings)
    return ExtractiveAnswerer() if resolved is None else _openai(resolved)


def make_answerer(settings: LLMSettings) -> Answerer:
    """The configured answerer (presets applied)."""
    resolved = resolve_llm_settings(settings)
    made = LLMS.get(resolved.backend)(resolved)
    # A plug-in written for the older seam returns a bare chat model (or None).
    return made if hasattr(made, "generative") else answerer_for(made)  # type: ignore[arg-type]


def make_chat_model(settings: LLMSettings) -> ChatModel | None:
    """The configured generative model, or None when answers are extractive."""
    return make_answerer(settings).chat_model
