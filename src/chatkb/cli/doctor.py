"""``chatkb doctor``: hardware, drivers, where each model runs, and what to fix."""

from __future__ import annotations

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context


def register_doctor_commands(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    no_load: bool = typer.Option(
        False, "--no-load", help="Do not load the models (faster; devices are then unknown)."
    ),
) -> None:
    """Check GPUs, drivers and CUDA, where each model runs, and the model servers.

    Exits with 1 when something configured cannot work.
    """
    from chatkb.doctor import collect_report  # its HTTP client: for this command only
    from chatkb.doctor.render import print_report

    report = collect_report(cli_context(ctx).settings, load_models=not no_load)
    if as_json:
        output.print_json(report.to_json())
    else:
        print_report(report, output.out)
    if not report.ok:
        raise typer.Exit(report.exit_code)
