"""Exact vector search over a matrix derived from the catalog and cached as .npy files.

The catalog is the truth; these files are a cache stamped with the catalog's generation.
A stale or missing cache is rebuilt from the catalog, so a crash can never make search
disagree with the catalog for longer than one rebuild.

A chunk may have several rows (its sentence windows); rows are ordered by chunk key, and a
chunk scores the cosine of its best row.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chatkb.store.base import ScoredKey


class DenseIndex:
    def __init__(self, directory: Path, dim: int) -> None:
        self.directory = directory
        self.dim = dim
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, dim), dtype=np.float32)
        self._chunks: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # distinct keys
        self._starts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # their first rows
        self._generation = -1
        self._lock = threading.Lock()

    def search(
        self,
        conn: sqlite3.Connection,
        generation: int,
        query: np.ndarray,
        k: int,
        *,
        allowed: npt.NDArray[np.int64] | None = None,
    ) -> list[ScoredKey]:
        """The ``k`` best chunks; with ``allowed``, only among those chunk keys."""
        matrix, chunks, starts = self._current(conn, generation)
        if len(chunks) == 0:
            return []
        rows = matrix @ query.astype(np.float32)
        scores = rows if len(starts) == len(rows) else np.maximum.reduceat(rows, starts)
        if allowed is not None:
            keep = np.isin(chunks, allowed)
            chunks, scores = chunks[keep], scores[keep]
        k = min(k, len(chunks))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [ScoredKey(int(chunks[i]), float(scores[i])) for i in top]

    def refresh(self, conn: sqlite3.Connection, generation: int) -> None:
        self._current(conn, generation)

    def _current(
        self, conn: sqlite3.Connection, generation: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        with self._lock:
            if self._generation != generation and not self._load_files(generation):
                self._rebuild(conn, generation)
            return self._matrix, self._chunks, self._starts

    def _set(
        self, matrix: npt.NDArray[np.float32], keys: npt.NDArray[np.int64], generation: int
    ) -> None:
        self._matrix, self._generation = matrix, generation
        # Keys are sorted, so each chunk's rows are one run starting at its first index.
        self._chunks, starts = np.unique(keys, return_index=True)
        self._starts = starts.astype(np.int64)

    def _paths(self) -> tuple[Path, Path, Path]:
        d = self.directory
        return d / "dense.npy", d / "dense_keys.npy", d / "dense.json"

    def _load_files(self, generation: int) -> bool:
        matrix_path, keys_path, stamp_path = self._paths()
        try:
            stamp = json.loads(stamp_path.read_text())
            if stamp.get("generation") != generation:
                return False
            matrix = np.load(matrix_path, allow_pickle=False)
            keys = np.load(keys_path, allow_pickle=False)
        except (OSError, ValueError):
            return False
        if matrix.shape != (len(keys), self.dim) or np.any(np.diff(keys) < 0):
            return False
        self._set(matrix, keys, generation)
        return True

    def _rebuild(self, conn: sqlite3.Connection, generation: int) -> None:
        rows = conn.execute(
            "SELECT c.id, v.vector FROM chunks c JOIN vectors v ON v.text_hash = c.text_hash "
            "WHERE NOT EXISTS (SELECT 1 FROM windows w WHERE w.chunk = c.id) "
            "UNION ALL "
            "SELECT w.chunk, v.vector FROM windows w JOIN vectors v ON v.text_hash = w.text_hash "
            "ORDER BY 1"
        ).fetchall()
        keys = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        matrix = np.zeros((len(rows), self.dim), dtype=np.float32)
        for i, (_, blob) in enumerate(rows):
            matrix[i] = np.frombuffer(blob, dtype=np.float32)
        self._set(matrix, keys, generation)
        self._write_files(matrix, keys, generation)

    def _write_files(
        self, matrix: npt.NDArray[np.float32], keys: npt.NDArray[np.int64], generation: int
    ) -> None:
        matrix_path, keys_path, stamp_path = self._paths()
        # Write every file beside its final name, then rename: readers see old or new, never half.
        for path, array in ((matrix_path, matrix), (keys_path, keys)):
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, array, allow_pickle=False)
            os.replace(tmp, path)
        tmp_stamp = stamp_path.with_suffix(".tmp")
        tmp_stamp.write_text(json.dumps({"generation": generation, "count": len(keys)}))
        os.replace(tmp_stamp, stamp_path)
