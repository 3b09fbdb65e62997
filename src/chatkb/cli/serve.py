"""``chatkb serve`` (the HTTP server) and ``chatkb mcp`` (MCP tools over stdio)."""

from __future__ import annotations

import logging
from dataclasses import replace

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context

GRACEFUL_SHUTDOWN_S = 5


def register_server_commands(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("mcp")(mcp_command)


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(
        None, help="Address to bind (default: server.host in config.toml, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (default: 7861)."),
) -> None:
    """Serve the REST API, OpenAI-compatible /v1, Chatchat routes, MCP and the web UI."""
    import uvicorn

    from chatkb.server import create_app

    settings = cli_context(ctx).settings
    given = settings.server
    server = replace(given, host=given.host if host is None else host, port=port or given.port)
    settings = replace(settings, server=server)
    app = create_app(settings)  # refuses a non-loopback host without API keys
    shown = f"[{server.host}]" if ":" in server.host else server.host
    output.err.print(f"chatkb serving on http://{shown}:{server.port}  (API docs: /docs)")
    verbose = logging.getLogger().isEnabledFor(logging.INFO)
    uvicorn.run(
        app,
        host=server.host,
        port=server.port,
        log_level="info" if verbose else "warning",
        access_log=verbose,
        # SIGTERM: open streams get this long to finish; then jobs stop (the file being
        # loaded is killed) and stay queued in the journal for the next start.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def mcp_command(ctx: typer.Context) -> None:
    """Serve the MCP tools (list_knowledge_bases, search, ask) over stdin/stdout."""
    import anyio

    from chatkb.server.mcp import build_mcp
    from chatkb.server.state import ServerState

    state = ServerState(cli_context(ctx).settings)
    try:
        anyio.run(build_mcp(state).run_stdio_async)
    finally:
        state.close()
