"""``chatkb models``: what every configured model server offers, and Ollama if one answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context
from chatkb.errors import ChatkbError

if TYPE_CHECKING:
    from chatkb.llm.servers import ServerInfo
    from chatkb.settings import LLMSettings, Settings


def register_models_commands(app: typer.Typer) -> None:
    app.command("models")(models)


def models(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """List the models each configured server offers (and a local Ollama's, if one runs)."""
    from chatkb.doctor.servers import configured_servers, probe  # an HTTP client: only here

    settings = cli_context(ctx).settings
    servers = [probe(target) for target in configured_servers(settings)]
    hint = ollama_hint(settings.llm, servers)
    if as_json:
        output.print_json(
            {"llm": _llm_json(settings), "servers": [asdict(s) for s in servers], "hint": hint}
        )
        return
    output.out.print(f"llm: {_llm_line(settings)}", markup=False)
    for server in servers:
        _print_server(server)
    if hint:
        output.err.print(hint, markup=False)


def ollama_hint(llm: LLMSettings, servers: Sequence[ServerInfo]) -> str | None:
    """How to answer with a local Ollama that answers while no LLM is configured."""
    if llm.backend != "extractive" or llm.preset:
        return None
    found = next((s for s in servers if s.kind == "ollama" and s.reachable), None)
    if found is None:
        return None
    chat = [m.name for m in found.models if not m.embedding_only]
    if not chat:
        return f"Ollama runs at {found.url} but has no chat model; pull one: ollama pull qwen2.5:7b"
    return (
        f"Ollama runs at {found.url} with {len(chat)} chat model(s). To answer with one, put in "
        f'config.toml:\n  [llm]\n  preset = "ollama"\n  model = "{chat[0]}"\n'
        f"(or CHATKB_LLM__PRESET=ollama CHATKB_LLM__MODEL={chat[0]}); "
        'llm.backend = "auto" picks one by itself.'
    )


def _llm_json(settings: Settings) -> dict[str, object]:
    from chatkb.llm.presets import resolve_llm_settings

    try:
        llm = resolve_llm_settings(settings.llm)
        error = None
    except ChatkbError as exc:
        llm, error = settings.llm, exc.message
    keys = ("backend", "preset", "base_url", "model", "device")
    return {**{key: getattr(llm, key) for key in keys}, "error": error}


def _llm_line(settings: Settings) -> str:
    data = _llm_json(settings)
    parts = [f"{k}={v}" for k, v in data.items() if v and k != "error"]
    return " ".join(parts) + (f" (error: {data['error']})" if data["error"] else "")


def _print_server(server: ServerInfo) -> None:
    found = "" if server.configured else ", found on its default address"
    title = f"{server.role}: {server.kind} server at {server.url}{found}"
    if not server.reachable:
        output.out.print(f"{title}: {server.error}", markup=False)
        return
    from rich.table import Table

    table = Table("model", "size", "kind", "loaded", title=title, title_justify="left")
    for model in server.models:
        size = f"{model.size_bytes / 1e9:.1f} GB" if model.size_bytes else ""
        kind = "embedding" if model.embedding_only else ("chat" if server.kind == "ollama" else "")
        loaded = "" if not model.loaded else f"yes, {(model.vram_fraction or 0):.0%} in GPU"
        table.add_row(model.name, size, kind, loaded)
    output.out.print(table)
