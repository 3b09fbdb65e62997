"""The refusal gate after a two-script search, on the shipped samples/ knowledge base.

samples/ holds an English handbook, an English IT FAQ and a Chinese expense policy. A
question in one language about a passage in the other can only be told apart from an
absent topic by the other script's cosines and by how many of the question's words, translated
by the dictionary (chatkb.bilingual), its passages hold: the cross-lingual model of
chatkb.relevance reads both. The questions are those of tests/data/samples-qa.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chatkb.ingest import discover, ingest
from chatkb.kb import KnowledgeBase, Library
from chatkb.retrieve import search
from chatkb.settings import Settings, load_settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeBase, Settings]:
    settings = load_settings(home=tmp_path_factory.mktemp("home"), embedder={"threads": 1})
    kb = Library(settings).create("samples")
    assert ingest(kb, discover([SAMPLES]), settings).failed == []
    return kb, settings


def _decision(
    samples: tuple[KnowledgeBase, Settings], question: str, mode: str = "by-script"
) -> tuple[bool, float, float | None]:
    kb, settings = samples
    retrieval = replace(settings.retrieval, cross_lingual=mode)
    found = search([kb], question, retrieval).relevance
    assert found.signals is not None
    return found.found, found.score, found.signals.foreign_best


@pytest.mark.parametrize(
    "question",
    ["怎么重置密码？", "VPN连不上应该打什么电话？", "核心工作时间是几点到几点？"],
)
def test_a_question_answered_in_the_other_language_is_not_refused(
    samples: tuple[KnowledgeBase, Settings], question: str
) -> None:
    found, score, foreign_best = _decision(samples, question)
    assert foreign_best is not None  # the other script was searched and judged
    assert found, score
    # Searched as one ranking, there are no other-script signals and the gate refuses.
    assert not _decision(samples, question, "off")[0]


@pytest.mark.parametrize(
    "question",
    [
        "长城有多长？",
        "What is the boiling point of water?",
        # In the handbook's domain, absent from it: accepted before the translation's
        # coverage was a signal.
        "How much is the annual bonus?",
        "试用期是几个月？",
    ],
)
def test_an_absent_topic_is_still_refused(
    samples: tuple[KnowledgeBase, Settings], question: str
) -> None:
    found, score, _ = _decision(samples, question)
    assert not found, score


def test_same_script_answers_keep_their_decision(samples: tuple[KnowledgeBase, Settings]) -> None:
    for question in ("How do I reset my password?", "费用发生后多久内要提交报销？"):
        assert _decision(samples, question)[0]
