"""A cross-encoder (e.g. bge-reranker) from a local path, through sentence-transformers."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

from chatkb.errors import BackendUnavailableError, ConfigError
from chatkb.rerankers.base import to_probability
from chatkb.settings import RerankerSettings
from chatkb.torch_device import resolve_device

log = logging.getLogger(__name__)
_HINT = "pip install 'chatkb[rerank]'"


class CrossEncoderReranker:
    """Loads the model once at construction; scoring is serialised (one model, one device)."""

    def __init__(self, settings: RerankerSettings) -> None:
        if not settings.model:
            raise ConfigError(
                "reranker backend 'cross-encoder' needs a local model directory, e.g. "
                "CHATKB_RERANKER__MODEL=/models/bge-reranker-v2-m3"
            )
        self.name = settings.model
        self.batch_size = settings.batch_size
        self.device = resolve_device(settings.device)
        self._lock = threading.Lock()
        self._model = _load(settings.model, self.device, settings.max_length)
        log.info("reranker %s loaded on %s", settings.model, self.device)

    def rerank(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        pairs = [(query, passage) for passage in passages]
        with self._lock:
            scores = self._model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        return to_probability([float(s) for s in scores])


def _load(path: str, device: str, max_length: int) -> Any:
    try:
        module = importlib.import_module("sentence_transformers")
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the cross-encoder reranker needs sentence-transformers: {_HINT}"
        ) from exc
    try:
        model = module.CrossEncoder(
            path, device=device, max_length=max_length, local_files_only=True
        )
    except (OSError, ValueError) as exc:
        raise BackendUnavailableError(
            f"cannot load the reranker model from {path!r} ({exc}); give the path of a "
            "downloaded cross-encoder directory (config.json, weights, tokenizer)"
        ) from exc
    if device.startswith("cuda"):
        model.model.half()  # fp16 halves memory and is about twice as fast on GPUs
    return model
