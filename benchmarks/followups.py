"""Follow-up retrieval: the same questions asked standalone and as a follow-up.

    python benchmarks/followups.py --home /tmp/h --kb en ../shared/datasets/en-dev \
        [--limit 100] [--llm smollm2] [--mode now|question-only|rewrite-only]

The multi-turn set is built from a dev set: for every question that names its article's
title, the first turn asks about the article ("Tell me about Doctor Who." / "介绍一下吕志兴。"),
the assistant's turn is the article's first sentence, and the follow-up is the question
with the title replaced by a pronoun ("it" / "它"). Each follow-up goes through the ask
flow's retrieval (``chatkb.answer.followup_queries`` + ``find``) with the history;
standalone is the original question without history; "after another topic" is the
original question after a turn about a different article (the history must not hurt).
Prints R@2000c and the share refused as "not in the knowledge base" for each.

``--mode question-only`` is the follow-up searched alone (history unused, the behaviour
without an LLM before follow-ups were handled); ``rewrite-only`` searches only the LLM's
rewrite (the behaviour with an LLM before).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Turn:
    standalone: str
    followup: str
    opener: str
    reply: str
    answers: tuple[str, ...]


def build_set(dataset: Path) -> list[Turn]:
    titles, firsts = {}, {}
    for path in sorted((dataset / "corpus").glob("*.txt")):
        lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        titles[path.stem] = lines[0]
        firsts[path.stem] = _first_sentence(lines[1] if len(lines) > 1 else lines[0])
    turns = []
    for line in (dataset / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        title = titles[item["doc_id"]]
        chinese = bool(re.search(r"[\u4e00-\u9fff]", title))
        followup = _pronoun(item["question"], title, chinese)
        if followup is None:
            continue
        opener = f"介绍一下{title}。" if chinese else f"Tell me about {title}."
        turns.append(
            Turn(item["question"], followup, opener, firsts[item["doc_id"]], tuple(item["answers"]))
        )
    return turns


def _pronoun(question: str, title: str, chinese: bool) -> str | None:
    if chinese:
        return question.replace(title, "它", 1) if title in question else None
    pattern = re.compile(rf"\b(?:the )?{re.escape(title)}(?:'s|s)?\b", re.IGNORECASE)
    match = pattern.search(question)
    if match is None:
        return None
    before = question[: match.start()].split()
    # Only where a pronoun reads naturally ("When did it…", "…of it"), not "the haptophyte it".
    if before and before[-1].lower() not in _BEFORE_PRONOUN:
        return None
    return pattern.sub("it", question, count=1)


_BEFORE_PRONOUN = frozenset(
    "did does do is was were are has have had of in about by for to from with on when what"
    " how who why where which can could would will".split()
)


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[。！？.!?])(\s|$)", text)
    return (match.group(1) if match else text)[:300]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--kb", required=True)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--llm", choices=["none", "smollm2"], default="none")
    parser.add_argument("--mode", choices=["now", "question-only", "rewrite-only"], default="now")
    args = parser.parse_args()
    os.environ["CHATKB_HOME"] = str(args.home)
    from chatkb.llm import Answerer, ExtractiveAnswerer, LLMAnswerer

    turns = build_set(args.dataset)[: args.limit or None]
    print(f"{args.dataset.name}: {len(turns)} follow-ups; e.g. {turns[0].followup!r}")
    if args.llm == "none":
        run(args, turns, ExtractiveAnswerer())
        return
    from chatkb.llm.llamacpp_server import LlamaCppServer, bundled_smollm2_path
    from chatkb.llm.openai_chat import OpenAIChat
    from chatkb.settings import LLMSettings

    with LlamaCppServer(bundled_smollm2_path(), threads=1) as server:
        llm = LLMSettings(backend="openai", base_url=server.base_url, model=server.model)
        answerer: Answerer = LLMAnswerer(OpenAIChat(llm))
        run(args, turns, answerer)


def run(args: argparse.Namespace, turns: list[Turn], answerer: object) -> None:
    from chatkb.answer import find, followup_queries
    from chatkb.evaluation.metrics import within_budget
    from chatkb.kb import Library
    from chatkb.models import Message
    from chatkb.options import AskOptions
    from chatkb.settings import load_settings

    settings = load_settings()
    kbs = [Library(settings).open(args.kb)]
    options = AskOptions(top_k=20)
    scores: dict[str, list[tuple[bool, bool]]] = {"standalone": [], "follow-up": [], "other": []}
    started = time.process_time()
    for i, turn in enumerate(turns):
        other = turns[(i + len(turns) // 2) % len(turns)]
        history = [Message("user", turn.opener), Message("assistant", turn.reply)]
        elsewhere = [Message("user", other.opener), Message("assistant", other.reply)]
        for name, question, past in (
            ("standalone", turn.standalone, []),
            ("follow-up", turn.followup, history),
            ("other", turn.standalone, elsewhere),
        ):
            extra = followup_queries(question, past, answerer, rewrite=True)  # type: ignore[arg-type]
            query = question
            if args.mode == "question-only":
                extra = []
            elif args.mode == "rewrite-only" and past:
                rewritten = answerer.rewrite(question, past)  # type: ignore[attr-defined]
                query, extra = rewritten or question, []
            found = find(kbs, query, settings, options=options, extra_queries=extra)
            texts = [h.text for h in found.hits]
            scores[name].append((within_budget(texts, turn.answers, 2000), found.relevance.found))
    cpu = time.process_time() - started
    print(f"llm={args.llm} mode={args.mode} cpu={cpu:.0f}s load={os.getloadavg()[0]:.1f}")
    for name, rows in scores.items():
        hit = sum(r for r, _ in rows) / len(rows)
        refused = sum(not f for _, f in rows) / len(rows)
        print(f"  {name:<11} R@2000c {hit:.3f}  refused {refused:.3f}  (n={len(rows)})")


if __name__ == "__main__":
    main()
