"""The ``chatkb`` command line. Every command has ``--help``; ``--json`` where programs read."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from chatkb import __version__
from chatkb.cli import _output as output
from chatkb.cli.doctor import register_doctor_commands
from chatkb.cli.eval import register_eval_commands
from chatkb.cli.importer import import_app
from chatkb.cli.kb import kb_app
from chatkb.cli.models import register_models_commands
from chatkb.cli.query import register_query_commands
from chatkb.cli.serve import register_server_commands
from chatkb.cli.sources import register_source_commands
from chatkb.errors import ChatkbError


class _ErrorsToMessages(TyperGroup):
    """chatkb errors become one line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ChatkbError as exc:
            from rich.markup import escape

            # The message is text, not markup: "[[server.api_keys]]" must print as written.
            output.err.print(f"[red]error:[/red] {escape(exc.message)}", markup=True)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: one line for the user, the traceback with -v
            if logging.getLogger().isEnabledFor(logging.INFO):
                raise
            from rich.markup import escape

            output.err.print(
                f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))} (use -v)"
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_ErrorsToMessages,
    name="chatkb",
    help="Offline knowledge-base question answering with cited sources.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(kb_app, name="kb")
app.add_typer(import_app, name="import")
register_source_commands(app)
register_query_commands(app)
register_eval_commands(app)
register_server_commands(app)
register_models_commands(app)
register_doctor_commands(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chatkb {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens to stderr."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Offline knowledge-base question answering with cited sources.

    Data and config live in $CHATKB_HOME (default ~/.chatkb); CHATKB_* variables override
    config.toml there. See docs/cli.md and docs/configuration.md.
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        output.err.print("interrupted")
        sys.exit(130)
