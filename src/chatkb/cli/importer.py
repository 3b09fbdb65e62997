"""``chatkb import chatchat PATH``: bring Langchain-Chatchat knowledge bases over."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context
from chatkb.cli.sources import PROGRESS_EVERY
from chatkb.errors import InvalidInputError

if TYPE_CHECKING:
    from chatkb.importers.chatchat import ImportReport

EXIT_PARTIAL = 3  # as ``chatkb add``: some files failed, the rest are in

import_app = typer.Typer(help="Import knowledge bases from other systems.", no_args_is_help=True)


@import_app.command("chatchat")
def chatchat(
    ctx: typer.Context,
    path: Path = typer.Argument(
        ...,
        help="Chatchat's knowledge-base root (holding info.db), or the 0.2 project folder "
        "or 0.3 CHATCHAT_ROOT above it.",
    ),
    rename: list[str] = typer.Option(
        [], "--rename", help="OLD=NEW: the chatkb name for a Chatchat knowledge base."
    ),
    only: list[str] = typer.Option([], "--kb", help="Import only this Chatchat knowledge base."),
    all_files: bool = typer.Option(
        False, "--all-files", help="Also import files in content/ that info.db does not list."
    ),
    embedder: str | None = typer.Option(None, help="Embedder of new knowledge bases."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    progress_every: float = PROGRESS_EVERY,
) -> None:
    """Create each knowledge base of a Chatchat 0.2.x/0.3.x root with its name and description,
    and ingest its originals (vectors are made again). Running it again skips what is in.

    Exit code 0 when every file went in, 3 when some failed (the rest are kept), 1 on error.
    """
    from chatkb.cli._progress import ingest_progress
    from chatkb.importers.chatchat import ImportOptions, import_chatchat

    context = cli_context(ctx)
    options = ImportOptions(_renames(rename), frozenset(only), all_files, embedder)
    report = import_chatchat(
        context.library, path, options, progress=lambda: ingest_progress(progress_every)
    )
    _print(report, as_json)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _renames(pairs: list[str]) -> dict[str, str]:
    renames: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise InvalidInputError(f"--rename wants OLD=NEW, got {pair!r}")
        renames[old] = new
    return renames


def _print(report: ImportReport, as_json: bool) -> None:
    if as_json:
        output.print_json(report.to_json())
        return
    for kb in report.knowledge_bases:
        label = (
            kb.chatchat_name if kb.name == kb.chatchat_name else f"{kb.chatchat_name} → {kb.name}"
        )
        if kb.error:
            output.err.print(f"[red]failed[/red] knowledge base {label}: {kb.error}")
            continue
        counts = ", ".join(f"{kb.count(s)} {s}" for s in ("imported", "skipped", "failed"))
        output.err.print(f"{label}{' (created)' if kb.created else ''}: {counts}")
        for file in kb.files:
            if file.status != "imported" and file.reason != "already imported":
                output.err.print(f"  {file.status} {file.source}: {file.reason}")
    totals = ", ".join(f"{report.count(s)} {s}" for s in ("imported", "skipped", "failed"))
    output.err.print(f"{len(report.knowledge_bases)} knowledge bases; {totals}")
