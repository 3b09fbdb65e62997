"""LLM backends by registered name (``Settings.llm.backend``), each an ``Answerer``.

The names below are loaded at their first use: ``chatkb.llm.prompts`` (which the CLI's help
texts read) then does not load the answerers and the server probes, and a command that
answers nothing starts without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatkb.llm.answerers import Answerer, ExtractiveAnswerer, LLMAnswerer, answerer_for
    from chatkb.llm.backends import LLMS, make_answerer, make_chat_model
    from chatkb.llm.base import ChatModel, GenerationOptions

__all__ = [
    "LLMS",
    "Answerer",
    "ChatModel",
    "ExtractiveAnswerer",
    "GenerationOptions",
    "LLMAnswerer",
    "answerer_for",
    "make_answerer",
    "make_chat_model",
]

_HOMES = {
    "Answerer": "chatkb.llm.answerers",
    "ExtractiveAnswerer": "chatkb.llm.answerers",
    "LLMAnswerer": "chatkb.llm.answerers",
    "answerer_for": "chatkb.llm.answerers",
    "LLMS": "chatkb.llm.backends",
    "make_answerer": "chatkb.llm.backends",
    "make_chat_model": "chatkb.llm.backends",
    "ChatModel": "chatkb.llm.base",
    "GenerationOptions": "chatkb.llm.base",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'chatkb.llm' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
