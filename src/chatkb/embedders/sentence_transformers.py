"""Any sentence-transformers model from a local directory, on the CPU or a GPU (fp16)."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chatkb.embedders.base import TextKind, Vectors, normalise
from chatkb.errors import BackendUnavailableError, ConfigError
from chatkb.settings import EmbedderSettings
from chatkb.torch_device import import_torch, resolve_device

log = logging.getLogger(__name__)
NAME = "sentence-transformers"
_HINT = "pip install 'chatkb[st]'"
# Prompt names models declare in config_sentence_transformers.json, by text kind.
_PROMPT_NAMES = {"query": ("query",), "passage": ("passage", "document", "doc")}


class SentenceTransformerEmbedder:
    """Loads the model once; ``name`` records the model so a KB always reloads the same one."""

    def __init__(self, settings: EmbedderSettings) -> None:
        if not settings.model:
            raise ConfigError(
                "embedder 'sentence-transformers' needs a local model directory, e.g. "
                "CHATKB_EMBEDDER__MODEL=/models/bge-m3"
            )
        self.name = f"{NAME}:{_model_id(settings.model)}"
        self.device = resolve_device(settings.device, hint=_HINT)
        self.batch_size = settings.batch_size
        self._prefixes = {"query": settings.query_prefix, "passage": settings.passage_prefix}
        self._lock = threading.Lock()
        self._model = _load(settings.model, self.device, settings.threads)
        self.dim = _dimension(self._model)
        log.info("embedder %s loaded on %s (%d-d)", settings.model, self.device, self.dim)

    def embed(self, texts: Sequence[str], kind: TextKind) -> Vectors:
        prefix = self._prefixes[kind]
        inputs = [prefix + t for t in texts] if prefix else list(texts)
        prompt_name = None if prefix else self._prompt_name(kind)
        with self._lock:
            vectors = self._model.encode(
                inputs,
                batch_size=self.batch_size,
                prompt_name=prompt_name,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim))

    def _prompt_name(self, kind: TextKind) -> str | None:
        prompts = getattr(self._model, "prompts", None) or {}
        return next((n for n in _PROMPT_NAMES[kind] if n in prompts), None)


def _dimension(model: Any) -> int:
    # sentence-transformers 6 renamed the method; older releases only have the old name.
    method = getattr(model, "get_embedding_dimension", None)
    if method is None:
        method = model.get_sentence_embedding_dimension
    return int(method())


def _model_id(model: str) -> str:
    """An existing directory is recorded by absolute path, so another working directory
    still finds it."""
    path = Path(model).expanduser()
    return str(path.resolve()) if path.is_dir() else model


def _load(path: str, device: str, threads: int) -> Any:
    try:
        module = importlib.import_module("sentence_transformers")
    except ImportError as exc:
        raise BackendUnavailableError(
            f"embedder 'sentence-transformers' needs the sentence-transformers package: {_HINT}"
        ) from exc
    if device == "cpu" and threads:
        import_torch(_HINT).set_num_threads(threads)
    try:
        model = module.SentenceTransformer(path, device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise BackendUnavailableError(
            f"cannot load the embedding model from {path!r} ({exc}); give the path of a "
            "downloaded sentence-transformers model directory"
        ) from exc
    if device.startswith("cuda"):
        model.half()  # fp16: half the memory, about twice the speed on GPUs
    return model
