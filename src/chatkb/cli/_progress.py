"""The ingest progress of ``chatkb add`` and ``chatkb import``, on stderr.

On a terminal, a bar. Anywhere else (a log file, a CI job, a service's journal), a line every
few seconds: files done of the total, chunks written and their rate, the file being read, and
when the rest should be done at the rate so far. rich is imported for the bar only, so that a
run whose stderr is a log starts without it.

Apart from ``_output`` so that the commands that ingest nothing start without the ingest flow.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from chatkb.ingest import FileOutcome
from chatkb.ingest import Progress as IngestProgress

if TYPE_CHECKING:
    from rich.progress import TaskID


def ingest_progress(every: float, stream: TextIO | None = None) -> IngestProgress:
    """A bar when ``stream`` (stderr) is a terminal, else a line every ``every`` seconds
    (0: no lines; the command's summary still follows)."""
    stream = stream or sys.stderr
    if stream.isatty():
        return BarProgress()
    return LogProgress(every, stream) if every > 0 else IngestProgress()


class BarProgress(IngestProgress):
    """A progress bar: files done, plus the chunks of the file being embedded."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from chatkb.cli._output import err

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._files: TaskID = self._bar.add_task("files", total=None)
        self._chunks: TaskID = self._bar.add_task("embedding", total=None, visible=False)

    def start(self, total_files: int) -> None:
        self._bar.update(self._files, total=total_files)
        self._bar.start()

    def file_started(self, source: str) -> None:
        self._bar.update(self._files, description=f"[bold]{_short(source)}")
        self._bar.update(self._chunks, completed=0, total=None, visible=False)

    def embedded(self, count: int, total: int) -> None:
        self._bar.update(self._chunks, completed=count, total=total, visible=True)

    def file_done(self, outcome: FileOutcome) -> None:
        from rich.markup import escape

        self._bar.advance(self._files)
        if outcome.status == "failed":
            self._bar.console.print(
                f"[red]failed[/red] {escape(outcome.source)}: {escape(outcome.error or '')}"
            )

    def finish(self) -> None:
        self._bar.stop()


@dataclass
class Tally:
    """What a progress line reports, counted from the ingest's callbacks."""

    total_files: int = 0
    files_done: int = 0
    failed: int = 0
    chunks: int = 0
    embedded: int = 0
    current: str | None = None

    def line(self, elapsed: float) -> str:
        """``0:01:20 120/256 files (2 failed), 3,400 chunks (42.5/s), 5,120 texts embedded;
        reading a.pdf; ETA 0:01:31``: the ETA at the files' rate so far."""
        parts = [f"{_clock(elapsed)} {self.files_done}/{self.total_files} files"]
        if self.failed:
            parts[0] += f" ({self.failed} failed)"
        rate = self.chunks / elapsed if elapsed > 0 else 0.0
        parts.append(f"{self.chunks:,} chunks ({rate:.1f}/s)")
        parts.append(f"{self.embedded:,} texts embedded")
        text = ", ".join(parts)
        if self.current is not None and self.files_done < self.total_files:
            text += f"; reading {_short(self.current, 60)}"
        left = self.total_files - self.files_done
        if self.files_done and left > 0:
            text += f"; ETA {_clock(elapsed * left / self.files_done)}"
        return text


class LogProgress(IngestProgress):
    """Progress lines on a stream that is not a terminal, every ``every`` seconds.

    A thread writes them, so a file that takes minutes to load (a long scan under OCR) still
    shows up as the file being read. Failures are written as they happen."""

    def __init__(self, every: float, stream: TextIO) -> None:
        self._every, self._stream = every, stream
        self._tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    def start(self, total_files: int) -> None:
        with self._lock:
            self._tally.total_files = total_files
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._tick, name="chatkb-progress", daemon=True)
        self._thread.start()

    def file_started(self, source: str) -> None:
        with self._lock:
            self._tally.current = source

    def embedded(self, count: int, total: int) -> None:
        with self._lock:
            self._tally.embedded = count

    def file_done(self, outcome: FileOutcome) -> None:
        with self._lock:
            self._tally.files_done += 1
            self._tally.chunks += outcome.chunks
            if outcome.status == "failed":
                self._tally.failed += 1
        if outcome.status == "failed":
            self._write(f"failed {outcome.source}: {outcome.error or ''}")

    def finish(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def line(self) -> str:
        with self._lock:
            return self._tally.line(time.monotonic() - self._started)

    def _tick(self) -> None:
        while not self._stop.wait(self._every):
            self._write(self.line())

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # a closed pipe must not fail the ingest
            pass


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _short(source: str, width: int = 40) -> str:
    return source if len(source) <= width else "…" + source[-(width - 1) :]
