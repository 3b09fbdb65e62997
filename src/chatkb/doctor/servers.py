"""Reaching model servers: which answer, what models they offer, what Ollama holds in GPU memory.

Used by ``chatkb models``, ``chatkb doctor`` and ``llm.backend = "auto"``. Every probe is
short (a few seconds at most) and turns any failure into ``ServerInfo.error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import httpx

from chatkb.doctor.report import ServerInfo, ServerModel
from chatkb.errors import ChatkbError
from chatkb.llm.presets import get_preset, is_embedding_model, ollama_root, resolve_llm_settings
from chatkb.settings import Settings

PROBE_TIMEOUT_S = 3.0
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class ServerTarget:
    """A server to probe. ``configured`` is False for the default-port Ollama found by looking."""

    role: str
    kind: Literal["ollama", "openai"]
    url: str
    api_key: str | None = None
    configured: bool = True


def configured_servers(settings: Settings) -> list[ServerTarget]:
    """The LLM and embedding servers in ``settings``, then Ollama on its usual address."""
    targets: list[ServerTarget] = []
    llm = settings.llm
    if llm.backend == "auto":
        targets.append(ServerTarget("llm", "ollama", ollama_root(llm.ollama_url)))
    else:
        try:
            resolved = resolve_llm_settings(llm)
        except ChatkbError:
            resolved = llm  # the missing key shows up as the server's error instead
        if resolved.backend == "openai" and resolved.base_url:
            kind = _kind(resolved.base_url, resolved.preset)
            url = ollama_root(resolved.base_url) if kind == "ollama" else resolved.base_url
            targets.append(ServerTarget("llm", kind, url, resolved.api_key))
    if settings.embedder.base_url:
        url = settings.embedder.base_url
        targets.append(ServerTarget("embedder", "openai", url, settings.embedder.api_key))
    default_ollama = ollama_root(llm.ollama_url)
    if not any(_same(t.url, default_ollama) for t in targets):
        targets.append(ServerTarget("ollama", "ollama", default_ollama, configured=False))
    return targets


def probe(target: ServerTarget, timeout: float = PROBE_TIMEOUT_S) -> ServerInfo:
    if target.kind == "ollama":
        return probe_ollama(
            target.url, role=target.role, configured=target.configured, timeout=timeout
        )
    return probe_openai(
        target.url, target.api_key, role=target.role, configured=target.configured, timeout=timeout
    )


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
    # Loopback must not go through a proxy from the environment; remote servers may need one.
    loopback = (urlparse(url).hostname or "") in _LOOPBACK
    return httpx.Client(timeout=httpx.Timeout(timeout), trust_env=not loopback)


def _get_json(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> Any:
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


def _kind(base_url: str, preset: str | None) -> Literal["ollama", "openai"]:
    if preset:
        return get_preset(preset).kind
    return "ollama" if urlparse(base_url).port == 11434 else "openai"


def _same(a: str, b: str) -> bool:
    return ollama_root(a).rstrip("/") == ollama_root(b).rstrip("/")
