"""The loading worker process: ``python -m chatkb.loaders._worker PARENT_PID``.

It reads requests (a path, the loader options, a memory limit, the loader's module, and
optionally a knowledge base's chunking) as length-prefixed pickles
on stdin and answers each on a private copy of stdout; the real stdout goes to stderr so a
library that prints cannot corrupt the answers. The parent (``isolated.LoadPool``) kills
it when a file takes too long or a job is cancelled, so nothing here needs to be
interruptible. The memory limit is the process's data segment (``RLIMIT_DATA``): an
allocation past it fails with ``MemoryError`` here (answered, then the worker exits) or
kills the process in native code (the parent sees the crash).
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import struct
import sys
from pathlib import Path
from typing import IO, Any

HEADER = struct.Struct("<Q")


def read_message(stream: IO[bytes]) -> Any:
    """One message, or ``None`` at end of input. The parent reads its workers unbuffered
    (a buffer would hide a second message from ``select``), so reads may come up short."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    body = _read_exactly(stream, size)
    if body is None:
        raise EOFError("the message was cut short")
    return pickle.loads(body)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    parts: list[bytes] = []
    left = size
    while left:
        part = stream.read(left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def encode(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def _die_with_parent(parent_pid: int) -> None:
    """Linux: be killed when the parent dies, even by SIGKILL, and even mid-file."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(0)


def _set_memory_limit(limit: int) -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _answer(request: tuple[str, Any, int, str, Any]) -> tuple[str, object]:
    from chatkb.errors import ChatkbError
    from chatkb.loaders import load_file
    from chatkb.prepare import prepare

    path, options, memory_limit, loader_module, chunking = request
    _set_memory_limit(memory_limit)
    try:
        importlib.import_module(loader_module)  # a plug-in loader registers on import
        document = load_file(Path(path), options)
        # With the knowledge base's chunking, the document goes back split and tokenized too:
        # the parent embeds the previous file meanwhile (chatkb.prepare).
        return "ok", document if chunking is None else prepare(document, chunking)
    except MemoryError:
        return "memory", None
    except ChatkbError as exc:  # travels as itself (a LoadError, a missing OCR library)
        if isinstance(exc.__cause__, MemoryError):  # a loader that wrapped it
            return "memory", None
        return "error", exc
    except Exception as exc:  # e.g. a plug-in loader's module that cannot be imported
        return "failed", f"{type(exc).__name__}: {exc}"


def main() -> None:
    _die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this one stops
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import chatkb.loaders

    chatkb.loaders.supported()  # import every loader once, before the first file
    import chatkb.prepare
    from chatkb.tokenize import tokenize

    tokenize("预热 warm")  # and the splitter and tokenizer, jieba's dictionary loaded

    from chatkb.loaders import progress

    def report_progress() -> None:
        answers.write(encode(("progress", None)))
        answers.flush()

    progress.install(report_progress)
    answers.write(encode(("ready", os.getpid())))
    answers.flush()
    while (request := read_message(sys.stdin.buffer)) is not None:
        status, value = _answer(request)
        try:
            answers.write(encode((status, value)))
        except MemoryError:
            status = "memory"
            answers.write(encode((status, None)))
        answers.flush()
        if status == "memory":  # the heap may be in pieces: a fresh worker takes the next
            return


if __name__ == "__main__":
    main()
