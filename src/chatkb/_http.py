"""The one way chatkb's HTTP backends (embedders, rerankers) call their servers."""

from __future__ import annotations

from typing import Any

import httpx

from chatkb.errors import BackendUnavailableError


def post_json(
    client: httpx.Client, path: str, body: dict[str, Any], *, service: str
) -> httpx.Response:
    """POST ``body``; an unreachable server or an HTTP error becomes a
    ``BackendUnavailableError`` that names the ``service`` and its URL."""
    base_url = str(client.base_url).rstrip("/")
    try:
        response = client.post(path, json=body)
    except httpx.TransportError as exc:
        raise BackendUnavailableError(
            f"cannot reach the {service} at {base_url}: {exc}; is it running?"
        ) from exc
    if response.status_code >= 400:
        raise BackendUnavailableError(
            f"{service} at {base_url} answered HTTP {response.status_code}: {response.text[:300]}",
            upstream_status=response.status_code,
        )
    return response
