"""The LLM seam: a chat model that streams text for a list of messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from chatkb.models import Message


@dataclass(frozen=True)
class GenerationOptions:
    temperature: float = 0.2
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()


class ChatModel(Protocol):
    """A generative model. ``stream`` yields text pieces as they are produced.

    ``name`` is what the answer reports as its model. ``stream`` must raise
    ``BackendUnavailableError`` (with what to check) when the model cannot be reached, and
    stop cleanly when the consumer stops iterating (a closed connection).
    """

    name: str

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]: ...
