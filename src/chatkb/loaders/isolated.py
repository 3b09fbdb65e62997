"""Loading each file in a worker process that can be killed: a per-file time and memory budget.

A hostile or pathological file (a parser that never ends, a bomb that asks for gigabytes)
then fails alone with a reason, and a cancel or a shutdown stops it at once by killing the
worker. Workers are plain ``python -m chatkb.loaders._worker`` processes (a fresh
interpreter, nothing inherited from a parent that runs threads), reused from file to file
so a small file costs a round trip, not a start; a killed or crashed one is replaced on the
next file.

Workers are started from one long-lived thread because Linux's "die with the parent"
signal follows the thread that started the process, not the process.
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chatkb.errors import ChatkbError, LoadError
from chatkb.loaders import LOADERS, LoaderOptions, supported
from chatkb.loaders._worker import encode, read_message
from chatkb.models import LoadedDocument
from chatkb.prepare import Chunking, PreparedDocument

_POLL_S = 0.05  # how often a wait looks at the clock and at should_stop
_START_TIMEOUT_S = 120.0  # a cold start imports every loader library
_IDLE_KEPT = 2  # idle workers kept for the next file (one per concurrent ingest, roughly)
_MIB = 1024 * 1024


class LoadStopped(Exception):
    """``should_stop`` said so while a file was loading; its worker was killed."""


@dataclass(frozen=True)
class LoadBudget:
    """What one file may take to load (``Settings.loading.timeout`` and ``max_memory_mb``)."""

    seconds: float = 60.0
    memory_bytes: int = 1024 * _MIB


class _Worker:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self.requests: IO[bytes] = process.stdin
        self.answers: IO[bytes] = process.stdout
        self.closing = False  # killed by ``LoadPool.close``: its load was stopped, not bad

    def alive(self) -> bool:
        return self.process.poll() is None

    def data_bytes(self) -> int:
        """The worker's data segment now (what ``RLIMIT_DATA`` counts), 0 when unknown."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
        return 0

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        self.requests.close()
        self.answers.close()


class LoadPool:
    """Worker processes shared by every ingest of this process; thread-safe."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._spawner = ThreadPoolExecutor(1, thread_name_prefix="chatkb-load-spawner")
        self._busy: set[_Worker] = set()

    def load(
        self,
        path: Path,
        options: LoaderOptions,
        budget: LoadBudget,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> LoadedDocument:
        """Load ``path`` in a worker; ``LoadError`` past the budget, ``LoadStopped`` on a stop."""
        value = self._run(path, options, budget, None, should_stop)
        if not isinstance(value, LoadedDocument):
            raise LoadError("the file-loading worker answered something else than a document")
        return value

    def prepare(
        self,
        path: Path,
        options: LoaderOptions,
        budget: LoadBudget,
        chunking: Chunking,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> PreparedDocument:
        """Load ``path`` and prepare it for ``chunking`` (``chatkb.prepare``) in a worker,
        within the same budget as ``load``."""
        value = self._run(path, options, budget, chunking, should_stop)
        if not isinstance(value, PreparedDocument):
            raise LoadError("the file-loading worker answered something else than a document")
        return value

    def _run(
        self,
        path: Path,
        options: LoaderOptions,
        budget: LoadBudget,
        chunking: Chunking | None,
        should_stop: Callable[[], bool],
    ) -> object:
        extension = path.suffix.lower()
        if extension not in supported():
            raise LoadError(f"unsupported file type {extension or '(no extension)'!r}")
        module = LOADERS.get(extension).__module__
        request = encode((str(path), options, budget.memory_bytes, module, chunking))
        worker = self._send(request)
        try:
            answer = self._wait(worker, budget, should_stop)
        except BaseException:
            self._discard(worker)
            raise
        self._give_back(worker, budget, answer[0])
        return _result(answer, budget)

    def close(self) -> None:
        """Kill every worker, busy ones included (their loads end as crashes)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.closing = True
            worker.kill()

    def _send(self, request: bytes) -> _Worker:
        """A worker that has ``request``; an idle one that died meanwhile is replaced."""
        for attempt in range(2):
            worker = self._take()
            try:
                worker.requests.write(request)
                worker.requests.flush()
                return worker
            except OSError:  # it died between the liveness check and the write
                self._discard(worker)
                if attempt:
                    raise ChatkbError("the file-loading worker process died on start") from None
        raise AssertionError("unreachable")

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.kill()
        worker = self._spawner.submit(_start).result()
        with self._lock:
            self._busy.add(worker)
        return worker

    def _give_back(self, worker: _Worker, budget: LoadBudget, status: str) -> None:
        # A worker that grew past half its budget would fail the next file early: retire it.
        keep = status != "memory" and worker.alive()
        keep = keep and worker.data_bytes() < budget.memory_bytes // 2
        with self._lock:
            self._busy.discard(worker)
            if keep and len(self._idle) < _IDLE_KEPT:
                self._idle.append(worker)
                return
        worker.kill()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()

    def _wait(
        self, worker: _Worker, budget: LoadBudget, should_stop: Callable[[], bool]
    ) -> tuple[str, Any]:
        deadline = time.monotonic() + budget.seconds
        while True:
            while not select.select([worker.answers], [], [], _POLL_S)[0]:
                if should_stop():
                    raise LoadStopped
                if time.monotonic() > deadline:
                    raise LoadError(
                        f"took longer than {budget.seconds:g} s to load without progress; the "
                        "file is refused (loading.timeout raises the limit)"
                    )
            answer = _read(worker)
            if answer is None and worker.closing:
                raise LoadStopped
            if answer is None:  # the worker died without answering
                return "crashed", worker.process.wait()
            status, value = answer
            if status != "progress":
                return str(status), value
            deadline = time.monotonic() + budget.seconds  # a page OCR'd: the clock restarts


def _read(worker: _Worker) -> tuple[object, object] | None:
    try:
        answer = read_message(worker.answers)
    except (EOFError, OSError, ValueError):
        return None
    return None if answer is None else tuple(answer)  # type: ignore[return-value]


def _result(answer: tuple[str, Any], budget: LoadBudget) -> object:
    status, value = answer
    if status == "ok" and isinstance(value, LoadedDocument | PreparedDocument):
        return value
    if status == "error" and isinstance(value, ChatkbError):
        raise value
    if status == "failed":
        raise LoadError(f"cannot read file: {value}")
    if status == "memory" or value == -signal.SIGKILL:  # SIGKILL we did not send: the OOM killer
        raise LoadError(
            f"needed more than {budget.memory_bytes // _MIB} MiB of memory to load; the file "
            "is refused (loading.max_memory_mb raises the limit)"
        )
    if status == "crashed" and isinstance(value, int) and value < 0:
        name = signal.Signals(-value).name
        raise LoadError(f"the loader crashed on this file ({name}); the file is refused")
    raise LoadError(f"the loader stopped on this file (exit status {value}); it is refused")


def _start() -> _Worker:
    """A new worker, once it has imported the loaders (run on the spawner thread)."""
    # The parent's import path: a loader registered from anywhere it can import is found.
    path = os.pathsep.join(p for p in sys.path if p)
    process = subprocess.Popen(
        [sys.executable, "-m", "chatkb.loaders._worker", str(os.getpid())],
        env={**os.environ, "PYTHONPATH": path},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,  # answers unbuffered: what select says is readable is all there is
        start_new_session=True,  # a Ctrl-C in the terminal is the parent's to handle
    )
    worker = _Worker(process)
    ready = select.select([worker.answers], [], [], _START_TIMEOUT_S)[0]
    answer = _read(worker) if ready else None
    if not answer or answer[0] != "ready":
        worker.kill()
        raise ChatkbError("the file-loading worker process did not start; see the log above")
    return worker


_pool: LoadPool | None = None
_pool_lock = threading.Lock()


def pool() -> LoadPool:
    """The process-wide pool, closed (its workers killed) when the process exits."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = LoadPool()
            atexit.register(_pool.close)
        return _pool


def prepare_isolated(
    path: Path,
    options: LoaderOptions,
    budget: LoadBudget,
    chunking: Chunking,
    should_stop: Callable[[], bool] = lambda: False,
) -> PreparedDocument:
    """``load_file`` then ``chatkb.prepare.prepare`` in a worker process; see
    ``LoadPool.prepare``."""
    return pool().prepare(path, options, budget, chunking, should_stop)
