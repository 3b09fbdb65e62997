"""The Embedder seam: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from chatkb.deferred import deferred

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred


# A string, so that naming the type imports nothing (numpy is deferred).
Vectors: TypeAlias = "npt.NDArray[np.float32]"
TextKind = Literal["query", "passage"]


class Embedder(Protocol):
    """Turns texts into vectors.

    ``name`` identifies the model (recorded per knowledge base; a different name or ``dim``
    at query time is an error). ``device`` says where it really runs (``cpu``, ``cuda:0``,
    ``remote``). ``embed`` is the one primitive: it must return an ``(len(texts), dim)``
    float32 array of unit vectors, treating ``kind`` as the model's query/passage prefix
    where it has one, and raise ``BackendUnavailableError`` when the model cannot run.
    Batching lives in ``embed_batched``, once, for every backend.
    """

    name: str
    dim: int
    device: str

    def embed(self, texts: Sequence[str], kind: TextKind) -> Vectors: ...


def resolve_threads(configured: int, *, serving: bool = False) -> int:
    """The CPU threads a local embedder runs on: ``embedder.threads`` when set, else every
    core, or one fewer (at least 1) in a server, whose searches need a core while it ingests.

    A command such as ``chatkb add`` has the machine to itself: on a quiet 2-core machine,
    2 threads ingested en-dev and zh-dev about 1.6x faster than 1 (docs/retrieval.md#speed).
    """
    if configured:
        return configured
    cores = os.cpu_count() or 1
    return max(1, cores - 1) if serving else cores


def normalise(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Vectors = (vectors / norms).astype(np.float32, copy=False)
    return normalised


def embed_batched(
    embedder: Embedder, texts: Sequence[str], *, kind: TextKind, batch_size: int
) -> Vectors:
    """Embed any number of texts in batches of ``batch_size``."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    parts = [
        embedder.embed(texts[i : i + batch_size], kind) for i in range(0, len(texts), batch_size)
    ]
    return np.vstack(parts).astype(np.float32, copy=False)
