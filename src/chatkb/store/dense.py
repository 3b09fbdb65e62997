"""Dense search for the embedded store: an index that follows the catalog's change log.

The catalog (SQLite) is the truth. The index is derived from it and kept in step by
``dense_log``, which the catalog's own triggers fill in the transaction of every write. A
search first applies the entries logged since it last looked: it re-reads only those chunks,
appends their rows and tombstones their old ones. Nothing is rebuilt per write, so a write is
visible to the next search in any process, at any size.

Two tiers, chosen by size (``DenseTuning.exact_max_rows``):

- **exact**: float32 rows, every one scored; the scores are exact cosines;
- **approximate**: an inverted file of int8 residuals (``ivf.py``). A search scans the nearest
  cells, then re-scores its candidates from the catalog's float32 vectors, so the scores it
  returns are exact cosines (the relevance gate reads them as such) and only the choice of
  candidates is approximate.

Moving between tiers, or retraining cells once the index has grown fourfold, is a full build
from the catalog. A background thread does it while searches go on against the old index; it
then replays the log written meanwhile and swaps the new index in. A process opens the last
checkpoint (``dense_files``, memory-mapped) and replays the log after it, so opening does not
rebuild. ``refresh`` (run by ``maintain`` after every ingest) publishes checkpoints and trims
the log they cover.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatkb._sqlite import transaction
from chatkb.deferred import deferred
from chatkb.store import dense_files, dense_log
from chatkb.store.base import ScoredKey
from chatkb.store.ivf import SAMPLE_PER_LIST, Floats, Ints, cells_for, train
from chatkb.store.vector_index import VectorIndex, best_per_key

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

log = logging.getLogger(__name__)

# Log entries a search applies itself before searching, in the exact tier; beyond that the
# background thread applies them (a search is never held up long by someone else's large
# write). In the approximate tier an entry also costs its vectors' cell assignment, which
# grows with the cells: the budget shrinks so that catching up stays near 50 ms.
_SYNC_ENTRIES = 1000
_SYNC_CELL_ENTRIES = 400_000  # entries × cells
# Keys applied per hold of the write lock when catching up on a large backlog.
_APPLY_BATCH = 4000
# How long a search waits for another thread that is applying the log.
_APPLY_WAIT_S = 0.05
# A filter of at most this many chunks is scored exactly from the catalog.
_SMALL_FILTER = 2000
# An index retrains its cells once it has grown this many times past what it was trained on.
_REGROW = 4
# Candidates re-scored exactly, per result wanted (approximate tier).
_RESCORE = 2


@dataclass(frozen=True)
class DenseTuning:
    exact_max_rows: int = 100_000  # settings: store.embedded.exact_max_rows
    probes: int = 32  # settings: store.embedded.probes
    # Vectors an approximate search scans at least (about 12 MB of int8 codes, a few ms).
    min_scan_rows: int = 32_768


class _RWLock:
    """Many searches at once; a write to the index waits for them and holds them off."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class _Behind(Exception):
    """The log was trimmed past this index's position: it must be opened again."""


class DenseIndex:
    def __init__(
        self,
        directory: Path,
        dim: int,
        connect: Callable[[], sqlite3.Connection],
        tuning: DenseTuning | None = None,
        *,
        log_hold: Callable[[], int | None] | None = None,
    ) -> None:
        self.folder = directory / "dense"
        # The earliest log position another follower of the log still needs (the keyword
        # index): the log is trimmed no further than that.
        self._log_hold = log_hold
        self.dim = dim
        self.tuning = tuning or DenseTuning()
        self._connect = connect
        self._index: VectorIndex | None = None
        self._applied = 0  # the log position the index holds
        self._saved = -1  # the position of the checkpoint this process loaded or published
        self._lock = _RWLock()
        self._apply = threading.Lock()  # one thread applies the log at a time
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._build_lock = threading.Lock()  # one full build at a time
        self._closed = threading.Event()

    # -- searching -------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, *, allowed: Ints | None = None) -> list[ScoredKey]:
        """The ``k`` best chunks; with ``allowed``, only among those chunk keys."""
        conn = self._connect()
        self._follow(conn)
        q = np.asarray(query, dtype=np.float32)
        with self._lock.reading():
            index = self._index
            if index is None or index.live_rows == 0 or k <= 0:
                return []
            if index.exact:
                keys, scores = index.best(q, k, nprobe=1, allowed=allowed)
                return _scored(keys, scores)
            if allowed is not None and len(allowed) <= _SMALL_FILTER:
                candidates = allowed
            else:
                probes = self._probes(index, allowed)
                candidates, _ = index.best(q, _RESCORE * k, nprobe=probes, allowed=allowed)
        return self._rescore(conn, candidates, q, k)

    def _probes(self, index: VectorIndex, allowed: Ints | None) -> int:
        """Cells to scan: ``tuning.probes``, and at least enough to meet ``min_scan_rows``
        vectors (so a smaller index is searched nearly whole, where scanning is cheap). A
        filter scans proportionally more, so about as many of its own rows are met."""
        per_cell = max(1.0, index.live_rows / index.cells)
        probes = max(self.tuning.probes, int(np.ceil(self.tuning.min_scan_rows / per_cell)))
        if allowed is not None and index.live_rows:
            share = min(1.0, 2.6 * len(allowed) / index.live_rows)
            probes = int(np.ceil(probes / max(share, 1e-9)))
        return max(1, min(index.cells, probes))

    def _rescore(self, conn: sqlite3.Connection, keys: Ints, q: Floats, k: int) -> list[ScoredKey]:
        """Exact cosines of the candidates, from the catalog's float32 vectors."""
        row_keys, vectors = dense_log.rows_of(conn, np.asarray(keys, dtype=np.int64), self.dim)
        if len(row_keys) == 0:
            return []
        best_keys, scores = best_per_key(row_keys, vectors @ q, k)
        return _scored(best_keys, scores)

    # -- following the log -----------------------------------------------------------------

    def _follow(self, conn: sqlite3.Connection) -> None:
        """Bring the index up to the latest write, or hand a large backlog to the worker."""
        if self._index is None:
            with self._apply:
                if self._index is None:
                    self._open(conn)
        head = dense_log.head(conn)
        backlog = head - self._applied
        if backlog <= 0:
            return
        if backlog <= self._sync_budget() and self._apply.acquire(timeout=_APPLY_WAIT_S):
            try:
                # Only what was written before this search: writes committed while it
                # catches up are the worker's (a busy ingest would keep it chasing).
                self._catch_up_current(conn, until=head)
            except _Behind:
                self._open(conn)
            finally:
                self._apply.release()
            if not self._wants_rebuild():
                return
        self._wake_worker()

    def _sync_budget(self) -> int:
        index = self._index
        if index is None or index.exact:
            return _SYNC_ENTRIES
        return max(50, min(_SYNC_ENTRIES, _SYNC_CELL_ENTRIES // index.cells))

    def written(self) -> None:
        """A write committed in this process: apply it in the background, so the next search
        finds nothing left to do. Only once an index is open (a writer that never searches
        leaves the work to whoever searches next)."""
        if self._index is not None:
            self._wake_worker()

    def _open(self, conn: sqlite3.Connection) -> None:
        """The published checkpoint and the log after it, or else a full build."""
        for _ in range(2):  # a checkpoint replaced while it was being read: read the new one
            loaded = dense_files.load(self.folder, self.dim)
            if loaded is not None:
                break
        index: VectorIndex | None = None
        if loaded is not None and loaded[1] >= dense_log.floor(conn):
            try:
                index, saved = loaded
                applied = self._apply_log(conn, index, saved, shared=False)
            except _Behind:  # trimmed meanwhile by another process's maintain
                index = None
        if index is None:
            index, applied = self._build(conn)
            saved = -1
        with self._lock.writing():
            self._index, self._applied, self._saved = index, applied, saved

    def _catch_up_current(self, conn: sqlite3.Connection, *, until: int | None = None) -> None:
        index = self._index
        assert index is not None
        self._applied = self._apply_log(conn, index, self._applied, shared=True, until=until)

    def _apply_log(
        self,
        conn: sqlite3.Connection,
        index: VectorIndex,
        applied: int,
        *,
        shared: bool,
        until: int | None = None,
    ) -> int:
        """Apply the entries after ``applied`` to ``index``; the new position. ``shared``:
        the index is the one searches use, so each batch is published under the write lock.
        ``until``: apply no further than this position (else up to the latest write, also
        those committed meanwhile)."""
        while not self._closed.is_set():
            conn.execute("BEGIN")
            try:
                if applied < dense_log.floor(conn):
                    raise _Behind
                upto = dense_log.head(conn)
                if until is not None:
                    upto = min(upto, until)
                keys = dense_log.touched(conn, applied, upto)
                if len(keys) > _APPLY_BATCH:  # a large backlog goes in steps
                    upto = applied + _seq_span(conn, applied, _APPLY_BATCH)
                    keys = dense_log.touched(conn, applied, upto)
                row_keys, vectors = dense_log.rows_of(conn, keys, self.dim)
            finally:
                conn.execute("COMMIT")
            # Everything that costs happens outside the lock: searches wait only for the
            # publishing of the result.
            change = index.stage(keys, row_keys, index.prepare(vectors))
            if shared:
                with self._lock.writing():
                    index.publish(change)
                    self._applied = upto
            else:
                index.publish(change)
            applied = upto
            if upto >= (until if until is not None else dense_log.head(conn)):
                break
        return applied

    # -- building --------------------------------------------------------------------------

    def _wants_rebuild(self) -> bool:
        index = self._index
        if index is None:
            return False
        rows, limit = index.live_rows, self.tuning.exact_max_rows
        if index.exact:
            return rows >= limit
        return rows < limit // 2 or rows > _REGROW * max(index.trained_rows, 1)

    def _build(self, conn: sqlite3.Connection) -> tuple[VectorIndex, int]:
        """A new index of every vector in the catalog, and the log position it holds."""
        conn.execute("BEGIN")  # one snapshot for the count, the sample and every row
        try:
            applied = dense_log.head(conn)
            rows = dense_log.count_rows(conn)
            index = VectorIndex(self.dim)
            if rows >= self.tuning.exact_max_rows:
                cells = cells_for(rows)
                sample = dense_log.sample(conn, SAMPLE_PER_LIST * cells, self.dim)
                index = VectorIndex(self.dim, train(sample, cells), trained_rows=rows)
            no_keys = np.zeros(0, dtype=np.int64)
            for keys, vectors in dense_log.all_rows(conn, self.dim):
                if self._closed.is_set():
                    break
                index.apply(no_keys, keys, index.prepare(vectors))
        finally:
            conn.execute("COMMIT")
        log.info(
            "built the dense index of %s: %d vectors, %d cells",
            self.folder.parent.name,
            index.live_rows,
            index.cells,
        )
        return index, applied

    def _rebuild(self, conn: sqlite3.Connection, *, wait: bool) -> None:
        """Build beside the index in use, catch the new one up, swap it in. One build at a
        time: the worker skips its own when another is under way (``wait`` False)."""
        if not self._build_lock.acquire(blocking=wait):
            return
        try:
            if self._wants_rebuild():  # the other build may have settled it
                self._swap_in_new(conn)
        finally:
            self._build_lock.release()

    def _swap_in_new(self, conn: sqlite3.Connection) -> None:
        index, applied = self._build(conn)
        with self._apply:
            applied = self._apply_log(conn, index, applied, shared=False)
            if self._closed.is_set():  # the build stopped part way: keep the index in use
                return
            with self._lock.writing():
                self._index, self._applied, self._saved = index, applied, -1

    # -- the background worker and checkpoints ---------------------------------------------

    def _wake_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name=f"chatkb-dense-{self.folder.parent.name}", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        try:
            conn = self._connect()
            while not self._closed.is_set():
                with self._apply:
                    try:
                        self._catch_up_current(conn)
                    except _Behind:
                        self._open(conn)
                if self._wants_rebuild() and not self._build_lock.locked():
                    self._rebuild(conn, wait=False)
                    continue
                if dense_log.head(conn) <= self._applied:
                    break
            if not self._closed.is_set() and self._unsaved() > self._save_every():
                self._save()
        except Exception:  # a derived index: the next search tries again
            log.exception("the dense index of %s could not follow the catalog", self.folder)

    def _unsaved(self) -> int:
        return self._applied - max(self._saved, 0)

    def _save_every(self) -> int:
        index = self._index
        return max(10_000, (index.live_rows if index else 0) // 20)

    def _save(self) -> None:
        with self._lock.reading():
            index, applied = self._index, self._applied
            if index is None:
                return
            snapshot = index.snapshot()
        if dense_files.save(self.folder, snapshot, applied, self.dim):
            self._saved = applied

    def refresh(self) -> None:
        """Make the index current now and publish it when enough is unsaved; then forget the
        log the published checkpoint holds. What ``maintain`` runs after an ingest."""
        conn = self._connect()
        with self._apply:
            if self._index is None:
                self._open(conn)
            else:
                try:
                    self._catch_up_current(conn)
                except _Behind:
                    self._open(conn)
        if self._wants_rebuild():
            self._rebuild(conn, wait=True)
        if self._saved < 0 or self._unsaved() > self._save_every():
            self._save()
        with dense_files.locked(self.folder):
            upto = dense_files.current_seq(self.folder)
            hold = self._log_hold() if self._log_hold else None
            if hold is not None:
                upto = min(upto, hold)
            if upto > dense_log.floor(conn):
                with transaction(conn):
                    dense_log.trim(conn, upto)

    def close(self) -> None:
        """Stop the worker: a build stops at its next batch; one still training after a
        few seconds is left to end with the process (what it makes is only derived)."""
        self._closed.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=10)


def _seq_span(conn: sqlite3.Connection, after: int, keys: int) -> int:
    """How far past ``after`` the log must be read to meet about ``keys`` entries."""
    row = conn.execute(
        "SELECT seq FROM dense_log WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?", (after, keys - 1)
    ).fetchone()
    return (int(row[0]) - after) if row else dense_log.head(conn) - after


def _scored(keys: Ints, scores: Floats) -> list[ScoredKey]:
    return [ScoredKey(int(key), float(score)) for key, score in zip(keys, scores, strict=True)]
