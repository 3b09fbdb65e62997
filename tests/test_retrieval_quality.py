"""Retrieval quality on the real dev sets with the default embedder: recall@5 floors.

Builds each knowledge base once per session (minutes on two cores): marked slow, run in CI.
The floors sit a little under what benchmarks/bench_retrieval.py measured (docs/retrieval.md)
so that a regression in chunking, tokenising, embedding or fusion fails here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _datasets import datasets_dir
from chatkb.evaluate import evaluate_retrieval, load_qa
from chatkb.ingest import discover, ingest
from chatkb.kb import KnowledgeBase, Library
from chatkb.settings import Settings, load_settings

pytestmark = pytest.mark.slow

FLOORS = {
    "zh-dev": {"recall@5": 0.96, "mrr@10": 0.90},
    "en-dev": {"recall@5": 0.88, "mrr@10": 0.72},
}


def _build(name: str, root: Path) -> tuple[KnowledgeBase, Settings]:
    corpus = datasets_dir() / name / "corpus"
    if not corpus.exists():
        pytest.skip(f"{name} not found")
    threads = os.environ.get("CHATKB_TEST_EMBED_THREADS", "1")
    settings = load_settings(home=root, embedder={"threads": int(threads)})
    kb = Library(settings).create(name)
    report = ingest(kb, discover([corpus]), settings)
    assert report.failed == []
    return kb, settings


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_recall_floor(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    kb, settings = _build(name, tmp_path_factory.mktemp(name))
    items = load_qa(datasets_dir() / name / "qa.jsonl")
    metrics = evaluate_retrieval([kb], items, settings.retrieval, top_k=10).metrics()
    print(name, metrics)
    for metric, floor in FLOORS[name].items():
        assert metrics[metric] >= floor, (metric, metrics)
