"""``chatkb kb …``: create, list, info, migrate, delete knowledge bases."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context
from chatkb.llm.prompts import ANSWER_LANGUAGES, CITATION_STYLES, PromptTemplate
from chatkb.store import STORES

if TYPE_CHECKING:
    from chatkb.store import StoreLocation

kb_app = typer.Typer(help="Create, list, inspect and delete knowledge bases.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON for programs.")
SYSTEM_PROMPT_HELP = "The knowledge base's own system prompt (replaces the built-in persona)."
LANGUAGE_HELP = f"Answer language: {', '.join(ANSWER_LANGUAGES)} (auto = the question's)."
CITATION_HELP = f"Citation style: {', '.join(CITATION_STYLES)}."
STORE_NAMES = ", ".join(STORES.names(plugins=False))
STORE_HELP = f"Store backend: {STORE_NAMES} or a plug-in's (default: store.backend)."


@kb_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Letters, digits, '_', '-', '.'; up to 64."),
    description: str = typer.Option("", "--description", "-d", help="What it holds."),
    embedder: str | None = typer.Option(None, help="Embedder name (default: settings)."),
    chunk_size: int | None = typer.Option(None, min=50, max=8000, help="Characters per chunk."),
    chunk_overlap: int | None = typer.Option(None, min=0, help="Characters of overlap."),
    window_chars: int | None = typer.Option(
        None, min=0, max=8000, help="Sentence windows embedded per chunk; 0 = whole chunks."
    ),
    exist_ok: bool = typer.Option(False, "--exist-ok", help="Succeed if it already exists."),
    system_prompt: str = typer.Option("", "--system-prompt", help=SYSTEM_PROMPT_HELP),
    answer_language: str = typer.Option("auto", "--answer-language", help=LANGUAGE_HELP),
    citation_style: str = typer.Option("inline", "--citation-style", help=CITATION_HELP),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    as_json: bool = JSON,
) -> None:
    """Create an empty knowledge base; its embedder and chunking are fixed from now on."""
    library = cli_context(ctx).library
    if exist_ok and name in library.names():
        kb = library.open(name)
        output.print_json(kb.info()) if as_json else output.err.print(f"{name} exists")
        return
    kb = library.create(
        name,
        description=description,
        embedder=embedder,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        window_chars=window_chars,
        prompt=PromptTemplate(system_prompt, answer_language, citation_style),
        store=store,
    )
    if as_json:
        output.print_json(kb.info())
    else:
        c = kb.config
        output.err.print(
            f"created [bold]{name}[/bold] (embedder {c.embedder}, {c.dim}-d; "
            f"chunks {c.chunk_size} chars, overlap {c.chunk_overlap}; "
            f"store {_where(kb.location)})"
        )


@kb_app.command("migrate")
def migrate_(
    ctx: typer.Context,
    name: str,
    to: str = typer.Option(..., "--to", help=f"Store backend to copy to: {STORE_NAMES}."),
    as_name: str | None = typer.Option(
        None, "--as", help="Copy into a new knowledge base of this name; NAME stays as it is."
    ),
    as_json: bool = JSON,
) -> None:
    """Copy a knowledge base to another store without embedding again.

    The source stays untouched until the copy is complete; an interrupted migration is
    finished by running the same command again. Stop `chatkb serve` first, or restart it after.
    """
    library = cli_context(ctx).library
    from chatkb.migrate import migrate

    report = migrate(library, name, to, as_name=as_name, progress=_copied)
    if as_json:
        output.print_json(report.to_json())
        return
    output.err.print(
        f"{report.name} is on {_where(report.target)}: {report.documents} documents, "
        f"{report.chunks} chunks ({report.copied} copied in {report.seconds:.1f} s)"
    )


def _copied(source: str) -> None:
    output.err.print(f"  copied {source}", highlight=False)


def _where(location: StoreLocation) -> str:
    return f"{location.backend} {location.uri}".strip()


@kb_app.command("set")
def set_(
    ctx: typer.Context,
    name: str,
    description: str | None = typer.Option(None, "--description", "-d", help="What it holds."),
    system_prompt: str | None = typer.Option(None, "--system-prompt", help=SYSTEM_PROMPT_HELP),
    answer_language: str | None = typer.Option(None, "--answer-language", help=LANGUAGE_HELP),
    citation_style: str | None = typer.Option(None, "--citation-style", help=CITATION_HELP),
    as_json: bool = JSON,
) -> None:
    """Change what may change after creation: description and answer prompt settings."""
    library = cli_context(ctx).library
    kb = library.open(name)
    if description is not None:
        kb = library.update_description(name, description)
    current = kb.config.prompt_template()
    prompt = PromptTemplate(
        current.system_prompt if system_prompt is None else system_prompt,
        answer_language or current.answer_language,
        citation_style or current.citation_style,
    )
    if prompt != current:
        kb = library.update_prompt(name, prompt)
    if as_json:
        output.print_json(kb.info())
    else:
        output.err.print(f"updated {name}")


@kb_app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List knowledge bases with their document and chunk counts."""
    library = cli_context(ctx).library
    infos = [library.open(name).info() for name in library.names()]
    if as_json:
        output.print_json(infos)
        return
    if not infos:
        output.err.print("no knowledge bases yet; create one with: chatkb kb create NAME")
        return
    from rich.table import Table

    table = Table("name", "documents", "chunks", "embedder", "description")
    for info in infos:
        table.add_row(
            str(info["name"]),
            str(info["documents"]),
            str(info["chunks"]),
            str(info["embedder"]),
            str(info["description"]),
        )
    output.out.print(table)


@kb_app.command("info")
def info(ctx: typer.Context, name: str, as_json: bool = JSON) -> None:
    """Settings, sizes and documents of one knowledge base."""
    kb = cli_context(ctx).library.open(name)
    documents = [d.to_json() for d in kb.documents()]
    data = {**kb.info(), **kb.engine(), "document_list": documents}
    if as_json:
        output.print_json(data)
        return
    for key, value in data.items():
        if key != "document_list":
            output.out.print(f"{key:>14}: {value}")
    for doc in documents:
        output.out.print(f"  {doc['source']}  ({doc['chunk_count']} chunks, {doc['file_type']})")


@kb_app.command("delete")
def delete(
    ctx: typer.Context,
    name: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a knowledge base and everything in it."""
    library = cli_context(ctx).library
    library.open(name)  # fail before asking when it does not exist
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete knowledge base {name!r} and all its documents?", abort=True)
    library.delete(name)
    output.err.print(f"deleted {name}")
