"""Reaching model servers: which answer, what models they offer, what Ollama holds in GPU memory.

``llm.backend = "auto"`` asks Ollama here for its chat model; ``chatkb models`` and
``chatkb doctor`` (through ``chatkb.doctor.servers``) report the same probes. Every probe is
short (a few seconds at most) and turns any failure into ``ServerInfo.error``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from chatkb.errors import ConfigError
from chatkb.llm.presets import SERVER_BACKEND, choose_chat_model, is_embedding_model, ollama_root
from chatkb.settings import LLMSettings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class ServerModel:
    name: str
    size_bytes: int | None = None
    family: str | None = None
    embedding_only: bool = False
    loaded: bool | None = None
    vram_fraction: float | None = None


@dataclass(frozen=True)
class ServerInfo:
    """A model server chatkb is configured to use (or found, for Ollama on its default port)."""

    role: str
    kind: Literal["ollama", "openai"]
    url: str
    reachable: bool
    models: tuple[ServerModel, ...] = ()
    version: str | None = None
    error: str | None = None
    configured: bool = True


def auto_llm_settings(settings: LLMSettings) -> LLMSettings | None:
    """What ``llm.backend = "auto"`` runs: Ollama's chat model, or None (extractive answers).

    Ollama is looked for at ``llm.ollama_url``; ``llm.model`` picks a model there, else
    ``choose_chat_model`` does. The choice is logged.
    """
    server = probe_ollama(settings.ollama_url, role="llm")
    if not server.reachable:
        log.info("llm auto: no Ollama at %s (%s); answers are extractive", server.url, server.error)
        return None
    chat = [m.name for m in server.models if not m.embedding_only]
    model = settings.model or choose_chat_model(chat, [m.name for m in server.models if m.loaded])
    if model is None:
        log.warning(
            "llm auto: Ollama at %s has no chat model (e.g. ollama pull qwen2.5:7b); "
            "answers are extractive",
            server.url,
        )
        return None
    if model not in {m.name for m in server.models}:
        raise ConfigError(
            f"llm.model {model!r} is not in Ollama at {server.url} (it has: "
            f"{', '.join(chat) or 'no chat models'}); run: ollama pull {model}"
        )
    log.info("llm auto: Ollama model %s at %s", model, server.url)
    return replace(settings, backend=SERVER_BACKEND, base_url=f"{server.url}/v1", model=model)


def probe_openai(
    url: str,
    api_key: str | None,
    *,
    role: str,
    configured: bool = True,
    timeout: float = PROBE_TIMEOUT_S,
) -> ServerInfo:
    """``GET {url}/models`` of an OpenAI-compatible server."""
    base = url.rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with _client(base, timeout) as client:
            body = _get_json(client, f"{base}/models", headers)
    except _ProbeError as exc:
        return ServerInfo(role, "openai", base, False, error=str(exc), configured=configured)
    models = tuple(ServerModel(str(m.get("id"))) for m in body.get("data") or [] if m.get("id"))
    return ServerInfo(role, "openai", base, True, models, configured=configured)


def probe_ollama(
    url: str, *, role: str = "ollama", configured: bool = True, timeout: float = PROBE_TIMEOUT_S
) -> ServerInfo:
    """Ollama's version, its pulled models (``/api/tags``) and what is loaded (``/api/ps``)."""
    root = ollama_root(url)
    try:
        with _client(root, timeout) as client:
            version = _get_json(client, f"{root}/api/version").get("version")
            tags = _get_json(client, f"{root}/api/tags").get("models") or []
            running = _get_json(client, f"{root}/api/ps").get("models") or []
    except _ProbeError as exc:
        return ServerInfo(role, "ollama", root, False, error=str(exc), configured=configured)
    models = ollama_models(tags, running)
    return ServerInfo(role, "ollama", root, True, models, version, configured=configured)


def ollama_models(
    tags: list[dict[str, Any]], running: list[dict[str, Any]]
) -> tuple[ServerModel, ...]:
    """Pulled models in Ollama's order, marked loaded with the share of them in GPU memory."""
    loaded = {str(m.get("name") or m.get("model")): m for m in running}
    return tuple(_ollama_model(tag, loaded.get(str(tag.get("name")))) for tag in tags)


def _ollama_model(tag: dict[str, Any], running: dict[str, Any] | None) -> ServerModel:
    name = str(tag.get("name") or tag.get("model"))
    family = (tag.get("details") or {}).get("family")
    fraction = None
    if running is not None and running.get("size"):
        fraction = round(float(running.get("size_vram") or 0) / float(running["size"]), 3)
    return ServerModel(
        name=name,
        size_bytes=tag.get("size"),
        family=family,
        embedding_only=is_embedding_model(name, family),
        loaded=running is not None,
        vram_fraction=fraction,
    )


class _ProbeError(Exception):
    pass


def _client(url: str, timeout: float) -> httpx.Client:
    import httpx  # when a server is probed: commands that probe none start without it

    # Loopback must not go through a proxy from the environment; remote servers may need one.
    loopback = (urlparse(url).hostname or "") in _LOOPBACK
    return httpx.Client(timeout=httpx.Timeout(timeout), trust_env=not loopback)


def _get_json(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> Any:
    import httpx

    try:
        response = client.get(url, headers=headers or {})
    except httpx.HTTPError as exc:
        raise _ProbeError(f"not reachable: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise _ProbeError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise _ProbeError(f"{url} did not answer JSON") from exc
    if not isinstance(body, dict):
        raise _ProbeError(f"{url} answered unexpected JSON")
    return body
