"""The arithmetic of the approximate dense index: spherical k-means and int8 residuals.

An inverted-file (IVF) index splits the vectors into ``nlist`` cells around trained
centroids; a query scans only the cells whose centroids are nearest. Each vector is kept as
its residual from its centroid, quantized to int8 with one scale per dimension, so a million
chunks with sentence windows (about 2.6 million 384-d vectors) take about 1 GB instead of 4.
Scores from codes are approximate; ``DenseIndex`` re-scores its candidates exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from chatkb.deferred import deferred

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred


# Strings, so that naming the types imports nothing.
Floats: TypeAlias = "npt.NDArray[np.float32]"
Ints: TypeAlias = "npt.NDArray[np.int64]"

# Rows of the sample a k-means pass assigns at once (bounds the score matrix it allocates).
_BATCH = 8192
_ITERATIONS = 10
# Sample points per centroid for training: enough for stable cells, cheap on two cores.
SAMPLE_PER_LIST = 32


def cells_for(rows: int) -> int:
    """How many cells an index of ``rows`` vectors is trained with: a power of two near
    2·√rows, so a cell holds some hundreds to a few thousand vectors."""
    target = max(64.0, 2.0 * float(np.sqrt(max(rows, 1))))
    return int(min(2048, 2 ** round(np.log2(target))))


@dataclass(frozen=True)
class Quantizer:
    """Trained centroids and the per-dimension scale of the int8 residuals."""

    centroids: Floats  # (nlist, dim), unit length
    scale: Floats  # (dim,)

    def assign(self, vectors: Floats) -> Ints:
        """The cell of each vector: its centroid of highest inner product."""
        out = np.empty(len(vectors), dtype=np.int64)
        for start in range(0, len(vectors), _BATCH):
            part = vectors[start : start + _BATCH]
            out[start : start + len(part)] = np.argmax(part @ self.centroids.T, axis=1)
        return out

    def encode(self, vectors: Floats, cells: Ints) -> npt.NDArray[np.int8]:
        residual = vectors - self.centroids[cells]
        codes: npt.NDArray[np.int8] = np.clip(np.rint(residual / self.scale), -127, 127).astype(
            np.int8
        )
        return codes


def train(sample: Floats, nlist: int, *, seed: int = 0) -> Quantizer:
    """Spherical k-means on ``sample``, then the residual scale (the 99.99th percentile of
    each dimension's magnitude over 127, so outliers clip rather than coarsen every code)."""
    rng = np.random.default_rng(seed)
    nlist = max(1, min(nlist, len(sample)))
    centroids = sample[rng.choice(len(sample), nlist, replace=False)].copy()
    for _ in range(_ITERATIONS):
        quantizer = Quantizer(centroids, np.ones(sample.shape[1], dtype=np.float32))
        cells = quantizer.assign(sample)
        sums = _sums(sample, cells, nlist)
        counts = np.bincount(cells, minlength=nlist)
        empty = counts == 0
        # An empty cell is re-seeded on a random sample point rather than left unused.
        sums[empty] = sample[rng.choice(len(sample), int(empty.sum()))]
        centroids = _unit(sums)
    cells = Quantizer(centroids, np.ones(sample.shape[1], dtype=np.float32)).assign(sample)
    residual = np.abs(sample - centroids[cells])
    scale = np.percentile(residual, 99.99, axis=0).astype(np.float32) / 127.0
    return Quantizer(centroids.astype(np.float32), np.maximum(scale, 1e-6).astype(np.float32))


def _sums(sample: Floats, cells: Ints, nlist: int) -> Floats:
    """The sum of each cell's points (sorted once, then reduced per run of a cell)."""
    order = np.argsort(cells, kind="stable")
    ordered = cells[order]
    present, starts = np.unique(ordered, return_index=True)
    sums = np.zeros((nlist, sample.shape[1]), dtype=np.float32)
    sums[present] = np.add.reduceat(sample[order], starts, axis=0)
    return sums


def _unit(x: Floats) -> Floats:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit: Floats = (x / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit
