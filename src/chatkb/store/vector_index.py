"""The in-memory dense index: vectors in cells, appended and tombstoned in place.

One structure serves both tiers. The exact tier has one cell of float32 rows and gives exact
scores. The approximate tier has trained cells (``ivf.Quantizer``) of int8 residuals and
gives approximate scores that the caller re-scores.

A write never rebuilds anything. New rows are appended to their cell (grown by a quarter
when full). Removed rows are marked dead, and a cell is compacted once a quarter of it is
dead. A chunk may have several rows (its sentence windows), and it scores its best row.

A write is worked out in two steps, so that searches are held off only for the second:
``stage`` does everything that costs (finding the dead rows, compacting, growing and filling
arrays) beside the arrays searches read, and ``publish`` swaps the results in with a few
assignments. Staging only ever writes past the length searches read, or into new arrays.
(When one lock held both, the growth of a large exact tier's array, a copy of hundreds of
megabytes, kept every search waiting for up to seconds.)

Not thread-safe: one thread at a time stages and publishes, and ``DenseIndex`` holds a
readers-writer lock around ``publish`` and the searches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatkb.deferred import deferred
from chatkb.store.ivf import Floats, Ints, Quantizer

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

_COMPACT_AT = 0.25  # the dead fraction of a cell that has it compacted


class _Grow:
    """A growable array (grown by a quarter when full). It may start as a read-only view of
    a mapped file, and is copied into memory at its first append."""

    def __init__(self, data: npt.NDArray[np.generic]) -> None:
        self.data = data
        self.n = len(data)

    def view(self) -> npt.NDArray[Any]:
        return self.data[: self.n]

    def clone(self) -> _Grow:
        """The same rows, to append to without changing what this one holds: its appends
        go past this one's length (or into a grown copy)."""
        twin = _Grow(self.data)
        twin.n = self.n
        return twin

    def append(self, values: npt.NDArray[np.generic]) -> None:
        need = self.n + len(values)
        if need > len(self.data) or not self.data.flags.writeable:
            # Grown by a quarter, not doubled: a million chunks' codes are a gigabyte, and
            # doubling would leave up to that much again allocated and unused.
            capacity = max(need, len(self.data) + len(self.data) // 4, 16)
            grown = np.empty((capacity, *self.data.shape[1:]), self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : need] = values
        self.n = need


@dataclass(frozen=True)
class Prepared:
    cells: Ints
    codes: npt.NDArray[np.generic]


@dataclass(frozen=True)
class Change:
    """A write worked out beside the index (``VectorIndex.stage``), not yet visible."""

    dead_rows: Ints
    codes: dict[int, _Grow]  # the cells whose rows change, as they will be
    members: dict[int, _Grow]
    chunk: _Grow
    cell: _Grow
    alive: _Grow
    dead_in_cell: Ints
    live_rows: int
    max_key: int


@dataclass(frozen=True)
class Snapshot:
    """The live rows of an index, cell by cell, as a checkpoint stores them."""

    quantizer: Quantizer | None
    trained_rows: int
    codes: list[npt.NDArray[np.generic]]  # per cell
    keys: list[Ints]  # per cell: each row's chunk key


class VectorIndex:
    def __init__(self, dim: int, quantizer: Quantizer | None = None, trained_rows: int = 0) -> None:
        self.dim = dim
        self.quantizer = quantizer
        self.trained_rows = trained_rows
        cells = 1 if quantizer is None else len(quantizer.centroids)
        dtype = np.float32 if quantizer is None else np.int8
        self._codes = [_Grow(np.empty((0, dim), dtype)) for _ in range(cells)]
        self._members = [_Grow(np.empty(0, np.int64)) for _ in range(cells)]  # row numbers
        # Per row number: its chunk key, its cell, and whether it is live.
        self._chunk = _Grow(np.empty(0, np.int64))
        self._cell = _Grow(np.empty(0, np.int32))
        self._alive = _Grow(np.empty(0, np.bool_))
        self._dead_in_cell = np.zeros(cells, dtype=np.int64)
        self.live_rows = 0
        self._max_key = -1

    @property
    def exact(self) -> bool:
        return self.quantizer is None

    @property
    def cells(self) -> int:
        return len(self._codes)

    # -- writes ----------------------------------------------------------------------------

    def prepare(self, vectors: Floats) -> Prepared:
        """Cells and codes for new rows: the costly part of an add, which needs no lock."""
        if self.quantizer is None:
            cells = np.zeros(len(vectors), dtype=np.int64)
            return Prepared(cells, np.asarray(vectors, dtype=np.float32))
        cells = self.quantizer.assign(vectors)
        return Prepared(cells, self.quantizer.encode(vectors, cells))

    def apply(self, removed: Ints, keys: Ints, prepared: Prepared) -> None:
        """Remove every row of the ``removed`` chunks, then add rows for ``keys``: what
        ``stage`` and ``publish`` do together, for an index no search reads yet."""
        self.publish(self.stage(removed, keys, prepared))

    def stage(self, removed: Ints, keys: Ints, prepared: Prepared) -> Change:
        """The rows of the ``removed`` chunks marked dead (cells compacted once a quarter of
        them is dead) and rows for ``keys`` appended, all of it beside what searches read."""
        dead = self._live_rows_of(removed)
        dead_in_cell = self._dead_in_cell.copy()
        codes: dict[int, _Grow] = {}
        members: dict[int, _Grow] = {}
        if len(dead):
            touched = self._cell.view()[dead]
            dead_in_cell += np.bincount(touched, minlength=self.cells)
            is_dead = np.zeros(self._alive.n, dtype=np.bool_)
            is_dead[dead] = True
            alive = self._alive.view()
            for cell in (int(c) for c in np.unique(touched)):
                if dead_in_cell[cell] > max(64, _COMPACT_AT * self._codes[cell].n):
                    rows = self._members[cell].view()
                    keep = alive[rows] & ~is_dead[rows]
                    codes[cell] = _Grow(self._codes[cell].view()[keep].copy())
                    members[cell] = _Grow(rows[keep].copy())
                    dead_in_cell[cell] = 0
        chunk, cell_of, alive_of = self._chunk.clone(), self._cell.clone(), self._alive.clone()
        if len(keys):
            cells = prepared.cells
            rows = np.arange(chunk.n, chunk.n + len(keys), dtype=np.int64)
            order = np.argsort(cells, kind="stable")
            present, starts = np.unique(cells[order], return_index=True)
            ends = np.append(starts[1:], len(order))
            for cell, start, end in zip(present.tolist(), starts, ends, strict=True):
                part = order[start:end]
                codes.setdefault(cell, self._codes[cell].clone()).append(prepared.codes[part])
                members.setdefault(cell, self._members[cell].clone()).append(rows[part])
            chunk.append(keys)
            cell_of.append(cells.astype(np.int32))
            alive_of.append(np.ones(len(keys), dtype=np.bool_))
        return Change(
            dead_rows=dead,
            codes=codes,
            members=members,
            chunk=chunk,
            cell=cell_of,
            alive=alive_of,
            dead_in_cell=dead_in_cell,
            live_rows=self.live_rows - len(dead) + len(keys),
            max_key=max(self._max_key, int(keys.max()) if len(keys) else -1),
        )

    def publish(self, change: Change) -> None:
        """Make a staged change what searches see: a few assignments."""
        change.alive.view()[change.dead_rows] = False
        for cell, grow in change.codes.items():
            self._codes[cell] = grow
        for cell, grow in change.members.items():
            self._members[cell] = grow
        self._chunk, self._cell, self._alive = change.chunk, change.cell, change.alive
        self._dead_in_cell = change.dead_in_cell
        self.live_rows = change.live_rows
        self._max_key = change.max_key

    def _live_rows_of(self, keys: Ints) -> Ints:
        keys = keys[keys <= self._max_key]  # a key above every indexed one was never added
        if len(keys) == 0:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self._alive.view() & np.isin(self._chunk.view(), keys))

    # -- reads -----------------------------------------------------------------------------

    def best(
        self, query: Floats, wanted: int, *, nprobe: int, allowed: Ints | None = None
    ) -> tuple[Ints, Floats]:
        """Up to ``wanted`` chunks by their best row, best first: exact scores in the exact
        tier, approximate ones (from the ``nprobe`` nearest cells) in the other."""
        q = query.astype(np.float32, copy=False)
        rows, scores = self._scan(q, self._probe(q, nprobe))
        keep = self._alive.view()[rows]
        keys = self._chunk.view()[rows]
        if allowed is not None:
            keep &= np.isin(keys, allowed)
        return best_per_key(keys[keep], scores[keep], wanted)

    def _probe(self, q: Floats, nprobe: int) -> Ints:
        if self.quantizer is None or nprobe >= self.cells:
            return np.arange(self.cells)
        near = self.quantizer.centroids @ q
        return np.argpartition(-near, nprobe - 1)[:nprobe]

    def _scan(self, q: Floats, cells: Ints) -> tuple[Ints, Floats]:
        rows: list[Ints] = []
        scores: list[Floats] = []
        scaled = q if self.quantizer is None else q * self.quantizer.scale
        for cell in cells:
            codes = self._codes[cell].view()
            if len(codes) == 0:
                continue
            if self.quantizer is None:
                scores.append(codes @ q)
            else:
                base = float(self.quantizer.centroids[cell] @ q)
                scores.append(codes.astype(np.float32) @ scaled + base)
            rows.append(self._members[cell].view())
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(rows), np.concatenate(scores)

    # -- checkpoints -----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The live rows, cell by cell. Cheap: buffers are only ever appended to past their
        length or replaced whole, so these views stay valid while writes go on."""
        alive = self._alive.view().copy()
        chunk = self._chunk.view()
        codes, keys = [], []
        for cell in range(self.cells):
            members = self._members[cell].view()
            live = alive[members]
            codes.append(self._codes[cell].view()[live])
            keys.append(chunk[members[live]])
        return Snapshot(self.quantizer, self.trained_rows, codes, keys)

    @classmethod
    def restore(
        cls,
        dim: int,
        quantizer: Quantizer | None,
        trained_rows: int,
        codes: npt.NDArray[np.generic],
        keys: Ints,
        sizes: Ints,
    ) -> VectorIndex:
        """An index over a checkpoint's arrays; ``codes`` may be a read-only mapped file."""
        index = cls(dim, quantizer, trained_rows)
        if len(sizes) != index.cells or int(sizes.sum()) != len(keys) or len(codes) != len(keys):
            raise ValueError("the checkpoint's arrays do not agree")
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        for cell in range(index.cells):
            start, end = int(offsets[cell]), int(offsets[cell + 1])
            index._codes[cell] = _Grow(codes[start:end])
            index._members[cell] = _Grow(np.arange(start, end, dtype=np.int64))
        index._chunk = _Grow(np.array(keys, dtype=np.int64))
        index._cell = _Grow(np.repeat(np.arange(index.cells, dtype=np.int32), sizes))
        index._alive = _Grow(np.ones(len(keys), dtype=np.bool_))
        index.live_rows = len(keys)
        index._max_key = int(keys.max()) if len(keys) else -1
        return index


def best_per_key(keys: Ints, scores: Floats, wanted: int) -> tuple[Ints, Floats]:
    """The ``wanted`` keys of highest best score, best first (ties: lower key first).

    Only the top rows are sorted: the first ``wanted`` distinct keys among rows in score
    order are the answer, so the window widens only when too few distinct keys fall in it."""
    n = len(keys)
    if n == 0 or wanted <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    take = min(n, 4 * wanted)
    while True:
        top = np.argpartition(-scores, take - 1)[:take] if take < n else np.arange(n)
        # Equal scores (overlapping chunks share windows, so ties are common) go to the lower
        # key: the same order whichever tier or path produced the rows.
        top = top[np.lexsort((keys[top], -scores[top]))]
        distinct, first = np.unique(keys[top], return_index=True)
        if len(distinct) >= wanted or take == n:
            break
        take = min(n, take * 4)
    chosen = top[np.sort(first)[:wanted]]
    return keys[chosen], scores[chosen]
