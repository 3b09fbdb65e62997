"""Presets for OpenAI-compatible servers: a user names the server, chatkb fills in the rest.

``llm.preset = "ollama"`` fills ``base_url`` (unless one is set) and turns the ``openai``
backend on; cloud presets also read their API key from the variable their vendor documents
(``DEEPSEEK_API_KEY`` …) when ``llm.api_key`` is empty, and suggest a default model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from chatkb.errors import ConfigError
from chatkb.settings import LLMSettings

PresetKind = Literal["ollama", "openai"]
# Backends that talk to a server; a preset turns the default (extractive) into the first.
SERVER_BACKEND = "openai"
DEFAULT_BACKEND = "extractive"


@dataclass(frozen=True)
class Preset:
    """One kind of server. ``kind`` ``ollama`` also speaks Ollama's own ``/api/*`` routes."""

    name: str
    label: str
    base_url: str
    kind: PresetKind = "openai"
    local: bool = True
    api_key_env: tuple[str, ...] = ()
    default_model: str | None = None


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("ollama", "Ollama", "http://127.0.0.1:11434/v1", kind="ollama"),
        Preset("vllm", "vLLM", "http://127.0.0.1:8000/v1"),
        Preset("xinference", "Xinference", "http://127.0.0.1:9997/v1"),
        Preset("llamacpp-server", "llama.cpp server", "http://127.0.0.1:8080/v1"),
        Preset("lmstudio", "LM Studio", "http://127.0.0.1:1234/v1"),
        Preset(
            "deepseek",
            "DeepSeek",
            "https://api.deepseek.com/v1",
            local=False,
            api_key_env=("DEEPSEEK_API_KEY",),
            default_model="deepseek-chat",
        ),
        Preset(
            "qwen",
            "Qwen (DashScope)",
            "https://dashscope.aliyuncs.com/compatible-mode/v1",
            local=False,
            api_key_env=("DASHSCOPE_API_KEY",),
            default_model="qwen-plus",
        ),
        Preset(
            "glm",
            "GLM (Zhipu BigModel)",
            "https://open.bigmodel.cn/api/paas/v4",
            local=False,
            api_key_env=("ZHIPUAI_API_KEY",),
            default_model="glm-4-flash",
        ),
        Preset(
            "moonshot",
            "Moonshot (Kimi)",
            "https://api.moonshot.cn/v1",
            local=False,
            api_key_env=("MOONSHOT_API_KEY",),
            default_model="moonshot-v1-8k",
        ),
    )
}
# Other names people use for the same servers.
ALIASES = {"dashscope": "qwen", "zhipu": "glm", "kimi": "moonshot", "llama.cpp": "llamacpp-server"}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (or an alias); a ``ConfigError`` lists the valid ones."""
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return PRESETS[key]
    except KeyError:
        valid = ", ".join(sorted(PRESETS))
        raise ConfigError(f"unknown llm.preset {name!r}; valid presets: {valid}") from None


def resolve_llm_settings(
    settings: LLMSettings, environ: Mapping[str, str] | None = None
) -> LLMSettings:
    """``settings`` with its preset applied; explicit values always win over the preset's."""
    if not settings.preset:
        return settings
    preset = get_preset(settings.preset)
    env = os.environ if environ is None else environ
    update: dict[str, Any] = {"preset": preset.name}
    if settings.backend == DEFAULT_BACKEND:
        update["backend"] = SERVER_BACKEND
    if not settings.base_url:
        update["base_url"] = preset.base_url
    if not settings.model and preset.default_model:
        update["model"] = preset.default_model
    if not settings.api_key:
        key = next((env[name] for name in preset.api_key_env if env.get(name)), None)
        if key:
            update["api_key"] = key
        elif not preset.local:
            raise ConfigError(_missing_key_message(preset))
    return replace(settings, **update)


def ollama_root(url: str) -> str:
    """Ollama's own API root from either form of its URL (``…:11434`` or ``…:11434/v1``)."""
    root = url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def is_embedding_model(name: str, family: str | None = None) -> bool:
    """True for Ollama models that only embed: they cannot answer questions.

    ``/api/tags`` does not say what a model can do (ollama/ollama#12202), so this goes by
    the name (``nomic-embed-text``, ``embeddinggemma``, ``bge-m3``) and by BERT-type families.
    """
    lowered = name.lower()
    bert_family = bool(family) and "bert" in str(family).lower()
    return "embed" in lowered or lowered.startswith(("bge-", "bge:")) or bert_family


def choose_chat_model(available: Sequence[str], loaded: Sequence[str] = ()) -> str | None:
    """The model ``llm.backend = "auto"`` picks: one already in memory, else the first listed.

    ``available`` keeps Ollama's order (most recently pulled first); embedding-only models
    must already be filtered out.
    """
    for name in loaded:
        if name in available:
            return name
    return available[0] if available else None


def _missing_key_message(preset: Preset) -> str:
    names = " or ".join(preset.api_key_env)
    return (
        f"llm.preset {preset.name!r} ({preset.label}) needs an API key: set {names} or "
        "CHATKB_LLM__API_KEY (or api_key under [llm] in config.toml)"
    )
