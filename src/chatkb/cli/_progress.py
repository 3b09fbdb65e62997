"""The ingest progress bar of ``chatkb add`` and ``chatkb import``, on stderr.

Apart from ``_output`` so that the commands that ingest nothing start without the ingest flow.
"""

from __future__ import annotations

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chatkb.cli._output import err
from chatkb.ingest import FileOutcome
from chatkb.ingest import Progress as IngestProgress


class BarProgress(IngestProgress):
    """A progress bar on stderr: files done, plus the chunks of the file being embedded."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._files = self._bar.add_task("files", total=None)
        self._chunks = self._bar.add_task("embedding", total=None, visible=False)

    def __enter__(self) -> BarProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, total_files: int) -> None:
        self._bar.update(self._files, total=total_files)

    def file_started(self, source: str) -> None:
        self._bar.update(self._files, description=f"[bold]{_short(source)}")
        self._bar.update(self._chunks, completed=0, total=None, visible=False)

    def embedded(self, count: int, total: int) -> None:
        self._bar.update(self._chunks, completed=count, total=total, visible=True)

    def file_done(self, outcome: FileOutcome) -> None:
        self._bar.advance(self._files)
        if outcome.status == "failed":
            err.print(f"[red]failed[/red] {escape(outcome.source)}: {escape(outcome.error or '')}")


def _short(source: str, width: int = 40) -> str:
    return source if len(source) <= width else "…" + source[-(width - 1) :]
