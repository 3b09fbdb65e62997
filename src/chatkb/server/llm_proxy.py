"""Pass plain chat completions through to the configured OpenAI-compatible LLM server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
from fastapi.responses import Response, StreamingResponse

from chatkb.errors import BackendUnavailableError
from chatkb.server.streaming import SSE_HEADERS
from chatkb.settings import LLMSettings


async def proxy_chat(llm: LLMSettings, payload: dict[str, object], *, stream: bool) -> Response:
    """Forward ``payload`` to ``{base_url}/chat/completions``; stream the answer back as is."""
    base_url = (llm.base_url or "").rstrip("/")
    headers = {"Authorization": f"Bearer {llm.api_key}"} if llm.api_key else {}
    client = httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=httpx.Timeout(llm.timeout, connect=10.0)
    )
    try:
        request = client.build_request("POST", "/chat/completions", json=payload)
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
