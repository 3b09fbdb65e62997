"""Any OpenAI-compatible chat server: Ollama, vLLM, Xinference, llama.cpp, LM Studio, clouds."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import httpx

from chatkb.errors import BackendUnavailableError, ConfigError
from chatkb.llm.base import GenerationOptions, Reported, Usage
from chatkb.models import Message
from chatkb.settings import LLMSettings


class OpenAIChat:
    """Streams ``/chat/completions`` over SSE with plain httpx (no SDK needed)."""

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.base_url or not settings.model:
            raise ConfigError(
                "llm backend 'openai' needs a base URL and a model, e.g. "
                "CHATKB_LLM__BASE_URL=http://127.0.0.1:11434/v1 CHATKB_LLM__MODEL=qwen2.5:7b"
            )
        self.base_url = settings.base_url.rstrip("/")
        self.name = settings.model
        self.api_key = settings.api_key
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        timeout = httpx.Timeout(settings.timeout, connect=10.0)
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.stream_usage = settings.stream_usage

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Reported:
        """The answer's text pieces; their ``usage`` is the server's own count, when it
        reports one (``stream_options.include_usage``, asked for unless
        ``llm.stream_usage`` is off for a server that refuses the field)."""
        body: dict[str, object] = {
            "model": self.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
            "stream": True,
        }
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if options.stop:
            body["stop"] = list(options.stop)
        return Reported(self._pieces(body))

    def _pieces(self, body: dict[str, object]) -> Iterator[str | Usage]:
        try:
            with self._client.stream("POST", "/chat/completions", json=body) as response:
                _raise_for_status(response, self.base_url)
                yield from _deltas(response.iter_lines())
        except httpx.TransportError as exc:
            raise BackendUnavailableError(
                f"cannot reach the LLM server at {self.base_url}: {exc}; is it running?"
            ) from exc

    def close(self) -> None:
        self._client.close()


def _raise_for_status(response: httpx.Response, base_url: str) -> None:
    if response.status_code < 400:
        return
    detail = response.read().decode("utf-8", errors="replace")[:300]
    raise BackendUnavailableError(
        f"LLM server at {base_url} answered HTTP {response.status_code}: {detail}"
    )


def _deltas(lines: Iterator[str]) -> Iterator[str | Usage]:
    """Text deltas from an SSE stream of chat.completion.chunk objects, and the ``Usage``
    a chunk reports."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            continue
        if "error" in event:
            raise BackendUnavailableError(f"LLM server error: {event['error']}")
        usage = _usage(event.get("usage"))
        if usage is not None:
            yield usage
        for choice in event.get("choices", []):
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text


def _usage(reported: object) -> Usage | None:
    if not isinstance(reported, dict):
        return None
    prompt, completion = reported.get("prompt_tokens"), reported.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return Usage(prompt, completion)
    return None
