"""Checkpoints of the dense index: what a process opens instead of rebuilding.

Layout, inside a knowledge base's folder::

    dense/index.json          which checkpoint is current, and the log position it holds
    dense/<seq>-<token>/      one checkpoint: codes.npy (memory-mapped at open), keys.npy,
                              sizes.npy, and for the approximate tier centroids.npy, scale.npy
    dense/lock                held while a checkpoint is published or the log trimmed

A checkpoint is written into a hidden folder and renamed into place; ``index.json`` is then
replaced atomically. A reader therefore sees the old checkpoint or the new one, never half of
one, and a crash leaves at worst a hidden folder that the next save removes. Everything here
is derived from the catalog: a missing or damaged checkpoint costs one rebuild, nothing more.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from chatkb.deferred import deferred
from chatkb.store.ivf import Quantizer
from chatkb.store.vector_index import Snapshot, VectorIndex

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

FORMAT = 1
POINTER = "index.json"


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """One publisher at a time across processes (the CLI and the server share a folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_seq(folder: Path) -> int:
    """The log position of the published checkpoint; -1 when there is none."""
    try:
        return int(json.loads((folder / POINTER).read_text())["seq"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def save(folder: Path, snapshot: Snapshot, seq: int, dim: int) -> bool:
    """Publish ``snapshot`` as the checkpoint at log position ``seq``, unless one at least
    as recent is already published. True when this one was published."""
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".tmp-{os.getpid()}-{os.urandom(4).hex()}"
    hidden.mkdir()
    try:
        _write(hidden, snapshot, dim)
        with locked(folder):
            if current_seq(folder) >= seq:
                return False
            name = f"{seq}-{os.urandom(4).hex()}"
            hidden.rename(folder / name)
            pointer = folder / f".{POINTER}.tmp"
            pointer.write_text(json.dumps({"format": FORMAT, "seq": seq, "folder": name}))
            os.replace(pointer, folder / POINTER)
            _remove_others(folder, keep=name)
        return True
    finally:
        shutil.rmtree(hidden, ignore_errors=True)


def _write(target: Path, snapshot: Snapshot, dim: int) -> None:
    sizes = np.array([len(k) for k in snapshot.keys], dtype=np.int64)
    dtype = np.float32 if snapshot.quantizer is None else np.int8
    codes = np.lib.format.open_memmap(
        target / "codes.npy", mode="w+", dtype=dtype, shape=(int(sizes.sum()), dim)
    )
    at = 0
    for part in snapshot.codes:  # cell by cell: memory stays at one cell, not a copy of all
        codes[at : at + len(part)] = part
        at += len(part)
    codes.flush()
    del codes
    keys = np.concatenate(snapshot.keys) if snapshot.keys else np.zeros(0, np.int64)
    np.save(target / "keys.npy", keys.astype(np.int64))
    np.save(target / "sizes.npy", sizes)
    if snapshot.quantizer is not None:
        np.save(target / "centroids.npy", snapshot.quantizer.centroids)
        np.save(target / "scale.npy", snapshot.quantizer.scale)
    meta = {"format": FORMAT, "dim": dim, "trained_rows": snapshot.trained_rows}
    (target / "meta.json").write_text(json.dumps(meta))
    for name in os.listdir(target):  # on disk before the rename makes them current
        with (target / name).open("rb") as handle:
            os.fsync(handle.fileno())


def _remove_others(folder: Path, keep: str) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != keep and not entry.name.startswith(".tmp-"):
            shutil.rmtree(entry, ignore_errors=True)  # a reader's mapping outlives the unlink


def load(folder: Path, dim: int) -> tuple[VectorIndex, int] | None:
    """The published checkpoint and its log position; None when there is none or it does
    not read back whole (the caller rebuilds)."""
    try:
        pointer = json.loads((folder / POINTER).read_text())
        if pointer.get("format") != FORMAT:
            return None
        target = folder / str(pointer["folder"])
        meta = json.loads((target / "meta.json").read_text())
        if meta.get("dim") != dim:
            return None
        codes = np.load(target / "codes.npy", mmap_mode="r", allow_pickle=False)
        keys = np.load(target / "keys.npy", allow_pickle=False)
        sizes = np.load(target / "sizes.npy", allow_pickle=False)
        quantizer = None
        if (target / "centroids.npy").exists():
            quantizer = Quantizer(
                np.load(target / "centroids.npy", allow_pickle=False),
                np.load(target / "scale.npy", allow_pickle=False),
            )
        if codes.ndim != 2 or codes.shape[1] != dim:
            return None
        index = VectorIndex.restore(dim, quantizer, int(meta["trained_rows"]), codes, keys, sizes)
        return index, int(pointer["seq"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
