"""``chatkb eval`` end to end on a small real knowledge base (three zh-dev articles)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from _datasets import datasets_dir
from chatkb.ingest import discover, ingest
from chatkb.kb import Library
from chatkb.settings import load_settings
from conftest import Cli

N_DOCS = 3


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Three zh-dev articles embedded once per module, their questions, five en questions."""
    zh = datasets_dir() / "zh-dev"
    if not zh.exists():
        pytest.skip("zh-dev not found")
    root = tmp_path_factory.mktemp("eval")
    rows = [json.loads(line) for line in (zh / "qa.jsonl").read_text("utf-8").splitlines()]
    docs = list(dict.fromkeys(r["doc_id"] for r in rows))[:N_DOCS]
    folder = root / "corpus"
    folder.mkdir()
    for doc in docs:
        shutil.copy(zh / "corpus" / f"{doc}.txt", folder)
    qa = root / "qa.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows if r["doc_id"] in docs), "utf-8")
    en = (datasets_dir() / "en-dev" / "qa.jsonl").read_text("utf-8").splitlines()[:5]
    probe = root / "probe.jsonl"
    probe.write_text("\n".join(en) + "\n", "utf-8")
    settings = load_settings(home=root / "home", embedder={"threads": 1})
    kb = Library(settings).create("t")
    assert ingest(kb, discover([folder]), settings).failed == []
    return root / "home" / "kb" / "t", qa, probe


@pytest.fixture
def small_kb(home: Path, built: tuple[Path, Path, Path]) -> tuple[Path, Path]:
    """The module's knowledge base, copied into this test's CHATKB_HOME as ``t``."""
    directory, qa, probe = built
    shutil.copytree(directory, home / "kb" / "t")
    return qa, probe


def _eval(cli: Cli, *args: str) -> Any:
    return cli.json("eval", "t", *args)


def test_eval_reports_every_retrieval_metric(cli: Cli, small_kb: tuple[Path, Path]) -> None:
    qa, probe = small_kb
    run = _eval(cli, str(qa), "--unanswerable", str(probe))
    metrics = run["metrics"]
    expected = {
        "recall@1",
        "recall@3",
        "recall@5",
        "recall@10",
        "R@1000c",
        "R@2000c",
        "R@4000c",
        "doc_hit@1",
        "doc_hit@5",
        "mrr@10",
        "ndcg@10",
        "latency_p50_ms",
        "latency_p95_ms",
        "wrong_refusals",
        "correct_refusals",
    }
    assert expected <= set(metrics)
    assert metrics["questions"] == len(qa.read_text("utf-8").splitlines())
    # Three articles, their own questions: everything is found, the first document hit is right.
    assert metrics["recall@10"] == 1.0 and metrics["doc_hit@5"] == 1.0
    assert metrics["mrr@10"] >= 0.5
    # English questions against three Chinese articles: refused.
    assert metrics["correct_refusals"] == 1.0
    question = run["questions"][0]
    assert {"rank", "doc_rank", "budgets", "relevance", "hits", "latency_ms"} <= set(question)


def test_report_is_self_contained_and_compares_runs(
    cli: Cli, small_kb: tuple[Path, Path], tmp_path: Path
) -> None:
    qa, probe = small_kb
    before = tmp_path / "before.json"
    before.write_text(cli("eval", "t", str(qa), "--json", "--top-k", "1").stdout, "utf-8")
    report = tmp_path / "report.html"
    result = cli(
        "eval",
        "t",
        str(qa),
        "--report",
        str(report),
        "--compare",
        str(before),
        "--unanswerable",
        str(probe),
    )
    assert "R@2000c" in result.stdout and "+" in result.stdout  # deltas are printed
    page = report.read_text("utf-8")
    assert page.count("<svg") >= 5
    assert "compared run" in page and "Per-question changes" in page
    assert "Unanswerable probe" in page
    # Opens offline: no scripts, stylesheets, images or fonts fetched from anywhere.
    assert not re.search(r"<script|<link|<img|@import|url\(", page)
    assert not re.search(r"(?:src|href)=", page)
    links = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert links <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched


def test_bad_inputs_are_one_line_errors(
    cli: Cli, small_kb: tuple[Path, Path], tmp_path: Path
) -> None:
    qa, _ = small_kb
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": 1}\nnot json\n', "utf-8")
    result = cli("eval", "t", str(bad), code=1)
    assert "bad.jsonl:2" in result.output
    result = cli("eval", "t", str(qa), "--compare", str(bad), code=1)
    assert "not an evaluation JSON file" in result.output
    assert "Traceback" not in result.output


@pytest.mark.server
def test_eval_scores_answers_with_an_llm(
    cli: Cli, small_kb: tuple[Path, Path], llm_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    qa, _ = small_kb
    monkeypatch.setenv("CHATKB_LLM__BACKEND", "openai")
    monkeypatch.setenv("CHATKB_LLM__BASE_URL", llm_server.base_url)
    monkeypatch.setenv("CHATKB_LLM__MODEL", llm_server.model)
    monkeypatch.setenv("CHATKB_LLM__MAX_TOKENS", "48")
    monkeypatch.setenv("CHATKB_RETRIEVAL__TOP_K", "1")  # the test model reads 2048 tokens
    run = cli.json("eval", "t", str(qa), "--limit", "2")
    metrics = run["metrics"]
    assert run["model"] == llm_server.model
    for name in ("answer_em", "answer_f1", "answer_contains"):
        assert 0.0 <= metrics[name] <= 1.0
    assert "citation_precision" in metrics
    assert all("answer" in q and q["answer"]["text"] for q in run["questions"])
