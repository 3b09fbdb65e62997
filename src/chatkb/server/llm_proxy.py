"""Pass plain chat completions through to the configured OpenAI-compatible LLM server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
from fastapi.responses import Response, StreamingResponse

from chatkb.errors import BackendUnavailableError, ConfigError
from chatkb.llm import ChatModel
from chatkb.server.streaming import SSE_HEADERS, in_thread


async def proxy_chat(
    chat_model: ChatModel,
    payload: dict[str, object],
    *,
    stream: bool,
    timeout: float,
    path: str = "/chat/completions",
) -> Response:
    """Forward ``payload`` to the chat model's ``path`` (``/chat/completions``, or
    ``/completions`` for legacy completions); stream back as is.

    The target is the model's own server (presets and ``auto`` already resolved; an
    in-process llama.cpp model is started on first use), never the raw settings.
    """
    base_url = await in_thread(lambda: getattr(chat_model, "base_url", None))
    if not base_url:
        raise ConfigError(f"model {chat_model.name!r} has no OpenAI-compatible endpoint")
    base_url = str(base_url).rstrip("/")
    api_key = getattr(chat_model, "api_key", None)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    client = httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=httpx.Timeout(timeout, connect=10.0)
    )
    try:
        request = client.build_request("POST", path, json=payload)
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise BackendUnavailableError(f"cannot reach the LLM server at {base_url}: {exc}") from exc
    if response.status_code >= 400 or not stream:
        body = await response.aread()
        await response.aclose()
        await client.aclose()
        if response.status_code >= 400:
            detail = body.decode("utf-8", errors="replace")[:300]
            raise BackendUnavailableError(
                f"LLM server at {base_url} answered HTTP {response.status_code}: {detail}"
            )
        return Response(body, media_type=response.headers.get("content-type", "application/json"))
    return StreamingResponse(
        _relay(client, response), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _relay(client: httpx.AsyncClient, response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError:
        return  # the LLM server went away mid-answer: end the stream rather than crash
    finally:
        with anyio.CancelScope(shield=True):
            await response.aclose()
            await client.aclose()
