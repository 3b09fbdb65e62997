"""Which model servers ``chatkb models`` and ``chatkb doctor`` probe, from the settings.

The probes themselves live with the models they reach, in ``chatkb.llm.servers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from chatkb.errors import ChatkbError
from chatkb.llm.presets import get_preset, ollama_root, resolve_llm_settings
from chatkb.llm.servers import PROBE_TIMEOUT_S, ServerInfo, probe_ollama, probe_openai
from chatkb.settings import Settings


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


def _kind(base_url: str, preset: str | None) -> Literal["ollama", "openai"]:
    if preset:
        return get_preset(preset).kind
    return "ollama" if urlparse(base_url).port == 11434 else "openai"


def _same(a: str, b: str) -> bool:
    return ollama_root(a).rstrip("/") == ollama_root(b).rstrip("/")
