"""``chatkb search`` (retrieval only) and ``chatkb ask`` (answers with citations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context
from chatkb.errors import InvalidInputError

if TYPE_CHECKING:
    from chatkb.models import Answer, Hit

# Retrieval, the answerers and the rerankers are imported by the commands that use them:
# every other command (an unchanged ``chatkb add``, ``--help``) starts without them.


def register_query_commands(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("ask")(ask_command)


def search(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Knowledge base (several: a,b)."),
    query: str | None = typer.Argument(None, help="The query."),
    queries: Path | None = typer.Option(
        None, exists=True, help='JSONL file of {"id", "question"}; prints {"id", "hits"} lines.'
    ),
    top_k: int | None = typer.Option(None, "--top-k", "-k", min=1, max=200, help="Hits."),
    as_json: bool = typer.Option(False, "--json", help="Print hits as JSON."),
    filter_: list[str] = typer.Option(
        [],
        "--filter",
        help="source=GLOB, type=pdf,docx, after=YYYY-MM-DD or before=YYYY-MM-DD (repeatable).",
    ),
) -> None:
    """Retrieve the best passages (hybrid dense + keyword), without an LLM."""
    from chatkb.answer import find
    from chatkb.filters import parse_filters
    from chatkb.options import AskOptions
    from chatkb.rerankers import make_reranker

    context = cli_context(ctx)
    kbs = context.open_kbs(name)
    settings = context.settings
    options = AskOptions(top_k=top_k, filters=parse_filters(filter_))
    reranker = make_reranker(settings.reranker)

    def hits_for(text: str) -> list[Hit]:
        return find(kbs, text, settings, options=options, reranker=reranker).hits

    if queries is not None:
        for item in _read_queries(queries):
            hits = hits_for(item["question"])
            output.print_json_line({"id": item["id"], "hits": [h.to_json() for h in hits]})
        return
    if not query:
        raise InvalidInputError("give a query, or --queries FILE.jsonl")
    hits = hits_for(query)
    if as_json:
        output.print_json([h.to_json() for h in hits])
    else:
        _print_hits(hits)


def _read_queries(path: Path) -> list[dict[str, str]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            items.append({"id": item["id"], "question": str(item["question"])})
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"{path}:{number}: expected a JSON object with 'id' and 'question' ({exc})"
            ) from None
    return items


def _print_hits(hits: list[Hit]) -> None:
    if not hits:
        output.err.print("no hits")
    for hit in hits:
        where = f"{hit.source}" + (f", p. {hit.page}" if hit.page else "")
        output.out.print(f"[bold]{hit.rank}. {where}[/bold]  score {hit.score:.3f}")
        output.out.print(hit.text.strip()[:500], markup=False)
        output.out.print()


def ask_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Knowledge base (several: a,b)."),
    question: str = typer.Argument(..., help="The question."),
    top_k: int | None = typer.Option(None, "--top-k", "-k", min=1, max=50, help="Passages."),
    min_relevance: float | None = typer.Option(
        None,
        "--min-relevance",
        min=0,
        max=1,
        help="'Not in the knowledge base' cut (0 = answer from what was found).",
    ),
    temperature: float | None = typer.Option(None, min=0, max=2, help="LLM temperature."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="LLM answer length."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """Answer a question with numbered citations; streams unless --json."""
    from chatkb.answer import ask
    from chatkb.llm import make_answerer
    from chatkb.options import AskOptions
    from chatkb.rerankers import make_reranker

    context = cli_context(ctx)
    kbs = context.open_kbs(name)
    options = AskOptions(
        top_k=top_k, min_relevance=min_relevance, temperature=temperature, max_tokens=max_tokens
    )
    stream = ask(
        kbs,
        question,
        context.settings,
        answerer=make_answerer(context.settings.llm),
        options=options,
        reranker=make_reranker(context.settings.reranker),
    )
    if as_json:
        output.print_json(stream.result().to_json())
        return
    for piece in stream:
        output.out.print(piece, end="", markup=False)
    output.out.print()
    _print_sources(stream.result())


def _print_sources(answer: Answer) -> None:
    """Each cited document once, its cited passages under it; a warning when none is cited."""
    if answer.found and not answer.grounded:
        output.err.print("(this answer cites no passage of the knowledge base)", markup=False)
    if not answer.citations:
        return
    output.out.print("\n[bold]Sources[/bold]")
    for source in answer.sources():
        output.out.print(source.label, markup=False)
        for c in source.passages:
            snippet = " ".join(c.text.split())[:160]
            output.out.print(f"  [{c.n}] {snippet}", markup=False)
