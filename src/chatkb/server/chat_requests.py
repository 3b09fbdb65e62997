"""Chat request bodies that several APIs accept: the OpenAI ``chat/completions`` body (``/v1``
and Chatchat's ``kb_chat`` completions) and Chatchat's history items, with how each becomes a
question and its history.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chatkb.errors import InvalidInputError, UnsupportedOptionError
from chatkb.models import Message


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(..., max_length=32)
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(..., min_length=1, max_length=300)
    messages: list[ChatMessageIn] = Field(..., min_length=1, max_length=200)
    stream: bool | None = False
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = Field(None, description="at most 4 sequences")
    n: int | None = Field(None, ge=1, le=128, description="kb: models answer once (n=1)")
    response_format: dict[str, Any] | None = None
    stream_options: dict[str, Any] | None = None
    top_k: int | None = Field(None, ge=1, le=50, description="chatkb: passages to retrieve")
    min_relevance: float | None = Field(
        None, ge=0, le=1, description='chatkb: the "not in the knowledge base" cut (0: answer)'
    )
    sources_footer: bool | None = Field(
        None, description="chatkb: end kb: answers with a Sources: list (server default)"
    )

    def stops(self) -> list[str]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stops) > 4:
            raise UnsupportedOptionError("stop: give at most 4 sequences")
        return stops

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def json_output(self) -> bool:
        kind = (self.response_format or {}).get("type", "text")
        if kind == "json_schema":
            raise UnsupportedOptionError(
                "response_format json_schema is not supported on kb: models (answers are "
                "cited text); use json_object, or the plain model for structured output"
            )
        return bool(kind == "json_object")

    def include_usage(self) -> bool:
        return (self.stream_options or {}).get("include_usage") is True

    def refuse_unanswerable(self) -> None:
        """A 400 for fields whose effect the client relies on and a kb: answer cannot give;
        sampling knobs (top_p, penalties, seed …) are accepted and have no effect."""
        extra = self.model_extra or {}
        for name, why in _REFUSED_ON_KB.items():
            value = extra.get(name)
            if value not in (None, False, [], {}, "none"):
                raise UnsupportedOptionError(f"{name} is not supported on kb: models: {why}")
        if any(m != "text" for m in extra.get("modalities") or []):
            raise UnsupportedOptionError("modalities: kb: models answer with text only")


_NO_TOOLS = "answers are cited text, no tool calls (use the plain model for tools)"
_REFUSED_ON_KB = {
    "tools": _NO_TOOLS,
    "tool_choice": _NO_TOOLS,
    "functions": _NO_TOOLS,
    "function_call": _NO_TOOLS,
    "logprobs": "the answer carries no token log-probabilities",
    "top_logprobs": "the answer carries no token log-probabilities",
    "audio": "answers are text",
    "prediction": "predicted outputs are not used",
}


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a message; content parts other than text are ignored."""
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


def split_messages(messages: list[ChatMessageIn]) -> tuple[str, list[Message]]:
    """The last user message is the question; earlier user/assistant turns are history."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not text_of(turns[-1].content).strip():
        raise InvalidInputError("the last message must be a non-empty user message")
    history = [
        Message("user" if m.role == "user" else "assistant", text_of(m.content)) for m in turns[:-1]
    ]
    return text_of(turns[-1].content), history


class HistoryItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: str = Field(..., max_length=32)
    content: str = Field("", max_length=20000)


def history_messages(items: list[HistoryItem]) -> list[Message]:
    return [
        Message("user" if h.role in ("user", "human") else "assistant", h.content)
        for h in items
        if h.role in ("user", "human", "assistant", "ai")
    ]
