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


@dataclass(frozen=True)
class Usage:
    """Token counts as the model server reported them."""

    prompt_tokens: int
    completion_tokens: int

    def to_json(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


class Reported(Iterator[str]):
    """Text pieces from a source that may also report the server's token ``usage`` (a
    ``Usage`` among the pieces); ``usage`` is set once it has come (None until then, or when
    the server does not report it)."""

    def __init__(self, source: Iterator[str | Usage]) -> None:
        self._source = source
        self.usage: Usage | None = None

    def __next__(self) -> str:
        while True:
            item = next(self._source)
            if isinstance(item, str):
                return item
            self.usage = item

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()


def reported_usage(pieces: Iterator[str]) -> Usage | None:
    """The usage a model server reported for ``pieces``, if it did."""
    return pieces.usage if isinstance(pieces, Reported) else None


class ChatModel(Protocol):
    """A generative model. ``stream`` yields text pieces as they are produced.

    ``name`` is what the answer reports as its model. ``stream`` must raise
    ``BackendUnavailableError`` (with what to check) when the model cannot be reached, and
    stop cleanly when the consumer stops iterating (a closed connection).
    """

    name: str

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]: ...
