"""``chatkb add`` and ``chatkb remove``: put documents in, take them out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context

if TYPE_CHECKING:
    from chatkb.ingest import IngestReport
    from chatkb.kb import KnowledgeBase

EXIT_PARTIAL = 3
# Also chatkb import's. A line every 10 s moves in a CI log within seconds, and a day-long
# ingest writes a few thousand lines, not millions.
PROGRESS_EVERY = typer.Option(
    10.0,
    "--progress-every",
    min=0,
    help="When stderr is not a terminal: seconds between progress lines (0: none).",
)


def register_source_commands(app: typer.Typer) -> None:
    app.command("add")(add)
    app.command("remove")(remove_command)


def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Knowledge base."),
    paths: list[Path] = typer.Argument(..., exists=True, help="Files and folders (recursive)."),
    prune: bool = typer.Option(
        False, help="Also remove documents that came from these folders but are gone now."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    progress_every: float = PROGRESS_EVERY,
) -> None:
    """Add files and folders. Unchanged files are skipped; changed ones are replaced.

    Exit code 0 when every file went in, 3 when some failed (the rest are kept), 1 on error.
    """
    from chatkb.cli._progress import ingest_progress
    from chatkb.ingest import discover, ingest

    context = cli_context(ctx)
    kb = context.library.open(name)
    files = discover(paths)
    report = ingest(kb, files, context.settings, progress=ingest_progress(progress_every))
    if prune:
        report.outcomes.extend(_prune(kb, paths, {f.source for f in files}).outcomes)
    _print_report(report, as_json)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _prune(kb: KnowledgeBase, paths: list[Path], present: set[str]) -> IngestReport:
    from chatkb.ingest import remove

    roots = [str(p.resolve()) for p in paths if p.is_dir()]
    gone = [
        d.source
        for d in kb.documents()
        if d.source not in present and any(d.path.startswith(r + "/") for r in roots)
    ]
    return remove(kb, gone)


def remove_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Knowledge base."),
    sources: list[str] = typer.Argument(..., help="Sources as listed by chatkb kb info."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Remove documents from every index of a knowledge base."""
    from chatkb.ingest import remove

    kb = cli_context(ctx).library.open(name)
    report = remove(kb, sources)
    _print_report(report, as_json)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _print_report(report: IngestReport, as_json: bool) -> None:
    summary = report.to_json()
    if as_json:
        output.print_json(summary)
        return
    counts = ", ".join(
        f"{summary[k]} {k}" for k in ("added", "updated", "unchanged", "removed", "failed")
    )
    output.say(f"{counts}; {summary['chunks']} chunks, {summary['embedded']} embedded")
    if not report.failed:
        return
    from rich.markup import escape

    for outcome in report.failed:
        output.err.print(
            f"  [red]failed[/red] {escape(outcome.source)}: {escape(outcome.error or '')}"
        )
