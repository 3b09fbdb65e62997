"""Answer quality with real models: EM, F1, citation precision, refusals and speed per set.

    python benchmarks/bench_answers.py --home DIR --set en=en:QA.jsonl [--set zh=zh:QA.jsonl]
        [--model extractive] [--model smollm2] [--model PATH.gguf] [--limit N]
        [--threads 1] [--rows OUT.jsonl]
    python benchmarks/bench_answers.py --summarize OUT.jsonl [OUT2.jsonl ...]

``--set LABEL=KB[,KB2]:QA`` names the knowledge bases (already ingested in ``--home``) and
the QA file of one set. Each question is retrieved once (the depth and cut of ``chatkb
eval``), then every ``--model`` answers from the same passages: ``extractive`` is the
baseline without a model, any other value is a GGUF path (or ``smollm2``) served by the
``llamacpp`` backend on ``--threads`` CPU threads. One JSON row per answer goes to
``--rows`` as it is made, so a run stopped early can still be summed up with
``--summarize``.

Printed per model and set: answered questions, EM, token F1 (citation markers removed,
as ``chatkb eval`` scores them), citation precision (the share of cited passages that
contain a gold answer), refusals (the relevance gate said "not in the knowledge base", and
answers that themselves say so), the share of answers citing at least one passage,
seconds and CPU seconds per answer, generated tokens per second, and ``uptime``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# An answer that says the passages do not hold the answer (the prompts ask for this wording).
_DECLINED = re.compile(
    r"(does not contain|do not contain|doesn't contain|not (?:found|mentioned|provided)|"
    r"no information|没有相关内容|没有提到|未提及|没有找到|不包含)",
    re.IGNORECASE,
)


def main() -> None:
    args = _parser().parse_args()
    if args.summarize:
        _print_table([row for path in args.summarize for row in _read_rows(path)])
        return
    if args.home is None or not args.set:
        raise SystemExit("--home and at least one --set are needed (or --summarize)")
    os.environ["CHATKB_HOME"] = str(args.home)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ["CHATKB_EMBEDDER__THREADS"] = str(args.threads)
    rows = list(_run(args))
    _print_table(rows)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, help="CHATKB_HOME holding the knowledge bases")
    parser.add_argument("--set", action="append", default=[], help="LABEL=KB[,KB]:QA.jsonl")
    parser.add_argument("--model", action="append", default=[], help="extractive, smollm2, a GGUF")
    parser.add_argument("--limit", type=int, default=20, help="first N questions (0 = all)")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp and embedder threads")
    parser.add_argument("--ctx-size", type=int, default=8192, help="llama.cpp context tokens")
    parser.add_argument("--rows", type=Path, default=None, help="append one JSON row per answer")
    parser.add_argument("--summarize", nargs="+", type=Path, help="only sum up rows files")
    return parser


def _run(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from chatkb.answer import find
    from chatkb.evaluation.qa import load_qa
    from chatkb.evaluation.runner import MIN_DEPTH
    from chatkb.kb import Library
    from chatkb.options import AskOptions
    from chatkb.retrieve import Retrieval
    from chatkb.settings import load_settings

    settings = load_settings()
    library = Library(settings)
    answerers = [
        (m, _answerer(m, args.threads, args.ctx_size)) for m in args.model or ["extractive"]
    ]
    sink = args.rows.open("a", encoding="utf-8") if args.rows else None
    try:
        sets = []
        for spec in args.set:
            label, kb_names, qa = _parse_set(spec)
            kbs = [library.open(name) for name in kb_names]
            sets.append([(label, kbs, item) for item in load_qa(qa)[: args.limit or None]])
        depth = AskOptions(top_k=max(settings.retrieval.top_k, MIN_DEPTH))
        for label, kbs, item in _round_robin(sets):
            found = find(kbs, item.question, settings, options=depth)
            top = Retrieval(found.hits[: settings.retrieval.top_k], found.relevance)
            for model, answerer in answerers:
                row = _answer_row(kbs, item, settings, answerer, top)
                row |= {"set": label, "model": _model_label(model)}
                if sink is not None:
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    sink.flush()
                yield row
    finally:
        if sink is not None:
            sink.close()
        for _, answerer in answerers:
            close = getattr(answerer.chat_model, "close", None)
            if close is not None:
                close()


def _round_robin(sets: Sequence[Sequence[Any]]) -> Iterator[Any]:
    """One question of each set in turn: a run stopped early has figures for every set."""
    for i in range(max((len(s) for s in sets), default=0)):
        yield from (s[i] for s in sets if i < len(s))


def _answerer(model: str, threads: int, ctx_size: int) -> Any:
    from chatkb.llm import make_answerer
    from chatkb.settings import LLMSettings

    if model == "extractive":
        return make_answerer(LLMSettings(backend="extractive"))
    llm = LLMSettings(
        backend="llamacpp", model=model, device="cpu", threads=threads, ctx_size=ctx_size
    )
    answerer = make_answerer(llm)
    start = getattr(answerer.chat_model, "start", None)
    if start is not None:
        start()  # load the model before the clock runs
    return answerer


def _answer_row(
    kbs: Sequence[Any], item: Any, settings: Any, answerer: Any, top: Any
) -> dict[str, Any]:
    from chatkb.answer import ask
    from chatkb.errors import ChatkbError
    from chatkb.evaluation.runner import score_answer
    from chatkb.models import Answer

    wall, cpu = time.perf_counter(), time.process_time()
    stream = ask(kbs, item.question, settings, answerer=answerer, retrieval=top)
    try:
        answer = stream.result()
    except ChatkbError as exc:
        # A prompt longer than the model's context, say: counted as a failed answer.
        answer = Answer(f"(error: {exc})", (), answerer.name, False, True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    usage = stream.reported_usage
    record = score_answer(answer, item.answers)
    return {
        "id": item.id,
        "question": item.question,
        "gold": list(item.answers),
        "answer": answer.answer,
        "gate_refused": not answer.found,
        "declined": answer.found and bool(_DECLINED.search(answer.answer)),
        "cited": len(answer.citations),
        "error": answer.answer.startswith("(error: "),
        "em": record.exact_match,
        "f1": record.f1,
        "citation_precision": record.citation_precision,
        "seconds": wall,
        "cpu_seconds": cpu,
        "completion_tokens": None if usage is None else usage.completion_tokens,
    }


def _parse_set(spec: str) -> tuple[str, list[str], Path]:
    label, _, rest = spec.partition("=")
    kbs, _, qa = rest.partition(":")
    if not (label and kbs and qa):
        raise SystemExit(f"--set {spec!r}: use LABEL=KB[,KB]:QA.jsonl")
    return label, [k for k in kbs.split(",") if k], Path(qa)


def _model_label(model: str) -> str:
    return Path(model).stem if model.endswith(".gguf") else model


def _read_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _print_table(rows: Sequence[dict[str, Any]]) -> None:
    header = (
        f"{'model':<36} {'set':<4} {'n':>4} {'EM':>6} {'F1':>6} {'cit.P':>6} {'gate':>6} "
        f"{'decl.':>6} {'cites':>6} {'s/q':>6} {'cpu/q':>6} {'tok/s':>6}"
    )
    print(header)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["set"]), []).append(row)
    for (model, label), group in groups.items():
        print(f"{model:<36} {label:<4} {len(group):>4} " + _figures(group))
    print("uptime:", os.popen("uptime").read().strip())


def _figures(group: Sequence[dict[str, Any]]) -> str:
    n = len(group)
    precisions = [r["citation_precision"] for r in group if r["citation_precision"] is not None]
    tokens = sum(r["completion_tokens"] or 0 for r in group)
    seconds = sum(r["seconds"] for r in group)
    values = [
        sum(r["em"] for r in group) / n,
        sum(r["f1"] for r in group) / n,
        sum(precisions) / len(precisions) if precisions else float("nan"),
        sum(r["gate_refused"] for r in group) / n,
        sum(r["declined"] for r in group) / n,
        sum(r["cited"] > 0 for r in group) / n,
    ]
    speed = [seconds / n, sum(r["cpu_seconds"] for r in group) / n]
    rate = f"{tokens / seconds:>6.1f}" if tokens and seconds else f"{'-':>6}"
    return (
        " ".join(f"{v:>6.3f}" for v in values)
        + " "
        + " ".join(f"{v:>6.2f}" for v in speed)
        + " "
        + rate
    )


if __name__ == "__main__":
    main()
