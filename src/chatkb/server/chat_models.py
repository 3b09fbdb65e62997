"""The chat models a request may pick: the configured one, or another model of the same
OpenAI-compatible server (``"model"`` in ``/api/chat``), and what that server offers."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

import httpx

from chatkb.errors import ChatkbError, ConfigError
from chatkb.llm import Answerer, ChatModel, answerer_for, make_answerer
from chatkb.llm.answerers import NO_LLM
from chatkb.llm.extractive import NAME as EXTRACTIVE
from chatkb.llm.openai_chat import OpenAIChat
from chatkb.llm.presets import is_embedding_model, resolve_llm_settings
from chatkb.settings import LLMSettings

log = logging.getLogger(__name__)

LIST_TIMEOUT_S = 3.0
# Each other model keeps a small HTTP client; a bound keeps odd requests from piling them up.
MAX_OTHER_MODELS = 16
__all__ = ["NO_LLM", "ChatModels"]


class ChatModels:
    """``default`` is the configured chat model (None: the extractive answerer)."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.default_answerer: Answerer = make_answerer(settings)
        self.default: ChatModel | None = self.default_answerer.chat_model
        self._others: dict[str, OpenAIChat] = {}
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """The backend that really answers: ``extractive``, ``openai`` (also for ``auto`` and
        presets that found a server), ``llamacpp`` or a plug-in's name."""
        if self.default is None:
            return EXTRACTIVE
        return "openai" if isinstance(self.default, OpenAIChat) else self.settings.backend

    @property
    def device(self) -> str | None:
        """Where the model runs: ``remote`` for a server, the device of an in-process model,
        None for the extractive answerer (no model)."""
        if self.default is None:
            return None
        if isinstance(self.default, OpenAIChat):
            return "remote"
        return str(getattr(self.default, "device", "") or "") or None

    def answerer(self, model: str | None) -> Answerer:
        """The answerer for ``model`` (``get``): the configured one, or another model's."""
        chosen = self.get(model)
        if chosen is self.default:
            return self.default_answerer
        return answerer_for(chosen)

    def get(self, model: str | None) -> ChatModel | None:
        """The model named ``model``; the default when it is empty or names the default."""
        default = self.default
        name = default.name if default is not None else EXTRACTIVE
        if not model or model == name:
            return default
        if default is None:
            raise ConfigError(f"model {model!r}: {NO_LLM}")
        if not isinstance(default, OpenAIChat):
            raise ConfigError(
                f"model {model!r}: the {self.backend} backend serves only {name!r}; "
                "other models need an OpenAI-compatible server ([llm] base_url)"
            )
        return self._other(default, model)

    def _other(self, default: OpenAIChat, model: str) -> OpenAIChat:
        with self._lock:
            chat = self._others.get(model)
            if chat is None:
                if len(self._others) >= MAX_OTHER_MODELS:
                    _, oldest = self._others.popitem()
                    oldest.close()
                chat = OpenAIChat(self._served_settings(default, model))
                self._others[model] = chat
            return chat

    def _served_settings(self, default: OpenAIChat, model: str) -> LLMSettings:
        try:
            resolved = resolve_llm_settings(self.settings)
        except ChatkbError:
            resolved = self.settings
        return replace(resolved, backend="openai", base_url=default.base_url, model=model)

    def listed(self) -> list[str]:
        """Chat model ids: the default first, then what its server lists at ``/models``."""
        default = self.default
        if default is None:
            return [EXTRACTIVE]
        ids = [default.name]
        if isinstance(default, OpenAIChat):
            ids += [i for i in self._server_models(default) if i not in ids]
        return ids

    def _server_models(self, default: OpenAIChat) -> list[str]:
        settings = self._served_settings(default, default.name)
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        try:
            response = httpx.get(
                f"{default.base_url}/models", headers=headers, timeout=LIST_TIMEOUT_S
            )
            response.raise_for_status()
            data = response.json().get("data", [])
            ids = [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            # Listing is a convenience: the configured model is still offered.
            log.info("could not list the models of %s: %s", default.base_url, exc)
            return []
        return [i for i in ids if not is_embedding_model(i)]

    def close(self) -> None:
        with self._lock:
            others, self._others = list(self._others.values()), {}
        for chat in others:
            chat.close()
