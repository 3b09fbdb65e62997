"""``chatkb eval``: retrieval (and, with an LLM, answer) quality on a QA file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from chatkb.cli import _output as output
from chatkb.cli._context import cli_context


def register_eval_commands(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def eval_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Knowledge base (several: a,b)."),
    qa: Path = typer.Argument(
        ..., help='QA file: JSON lines {"id", "question", "answers", "doc_id"}.'
    ),
    top_k: int = typer.Option(
        10, "--top-k", "-k", min=1, max=100, help="Hits scored per question."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole run as JSON."),
    report: Path | None = typer.Option(None, help="Write a self-contained HTML report here."),
    compare_with: Path | None = typer.Option(
        None, "--compare", help="A JSON file from an earlier run to compare with."
    ),
    unanswerable: Path | None = typer.Option(
        None, help="QA file whose answers are NOT in the knowledge base (refusal probe)."
    ),
    answers: bool = typer.Option(
        True, "--answers/--no-answers", help="Generate and score answers when an LLM is set."
    ),
    limit: int = typer.Option(0, min=0, help="Only the first N questions (0 = all)."),
) -> None:
    """Measure retrieval quality (recall@k, R@Nc, MRR, nDCG, latency) on a QA file."""
    # Imported here, not with the command line: every other command starts without them.
    from chatkb.evaluation.qa import load_qa
    from chatkb.evaluation.report_html import render
    from chatkb.evaluation.runner import evaluate
    from chatkb.evaluation.summary import load_run, to_json
    from chatkb.llm import make_answerer
    from chatkb.rerankers import make_reranker

    context = cli_context(ctx)
    settings = context.settings
    kbs = context.open_kbs(name)
    items = load_qa(qa)[: limit or None]
    probe = load_qa(unanswerable)[: limit or None] if unanswerable else []
    previous = load_run(compare_with) if compare_with else None
    answerer = make_answerer(settings.llm) if answers else None
    run = evaluate(
        kbs,
        items,
        settings,
        top_k=top_k,
        answerer=answerer,
        reranker=make_reranker(settings.reranker),
        unanswerable=probe,
    )
    run.qa, run.probe_qa = str(qa), None if unanswerable is None else str(unanswerable)
    document = to_json(run)
    if report is not None:
        report.write_text(render(document, previous), encoding="utf-8")
        output.err.print(f"report written to {report}")
    if as_json:
        output.print_json(document)
    else:
        _print_metrics(document, previous)


def _print_metrics(document: dict[str, Any], previous: dict[str, Any] | None) -> None:
    from chatkb.evaluation.summary import compare

    rows = (
        compare(document, previous)
        if previous
        else [(k, v, None) for k, v in document["metrics"].items()]
    )
    for metric, value, before in rows:
        line = f"{metric:<20} {_fmt(value):>10}"
        if previous is not None:
            line += f"  {_fmt(before):>10}  {_change(value, before)}"
        output.out.print(line, markup=False)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _change(value: Any, before: Any) -> str:
    if isinstance(value, int | float) and isinstance(before, int | float):
        return f"{value - before:+.3f}"
    return ""
