"""Cross-lingual search on real texts: a knowledge base holding Chinese and English passages.

The passages are gold passages of the dev sets (../shared/datasets), the questions their
hand translations (tests/data/xling). Chinese passages outnumber the English ones, so a
Chinese question about an English passage meets same-language distractors, as it does in
a real mixed knowledge base.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from _datasets import datasets_dir
from chatkb.ingest import discover, ingest, remove
from chatkb.kb import KnowledgeBase, Library
from chatkb.retrieve import retrieve
from chatkb.scripts import partition
from chatkb.settings import Settings, load_settings
from chatkb.tokenize import is_cjk_text

EN_LINES = (90, 129, 192, 267)  # en-dev questions whose gold passages go in
ZH_LINES = (0, 3, 12, 42, 81, 111, 129, 171)


def _gold(name: str, lines: tuple[int, ...]) -> list[dict[str, str]]:
    path = datasets_dir() / name / "qa.jsonl"
    if not path.exists():
        pytest.skip(f"{name} not found")
    rows = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(rows[i]) for i in lines]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeBase, Settings]:
    root = tmp_path_factory.mktemp("xling")
    folder = root / "docs"
    folder.mkdir()
    for row in _gold("en-dev", EN_LINES) + _gold("zh-dev", ZH_LINES):
        (folder / f"{row['doc_id']}.txt").write_text(row["gold_passage"], encoding="utf-8")
    settings = load_settings(home=root / "home", embedder={"threads": 1})
    kb = Library(settings).create("mixed")
    assert ingest(kb, discover([folder]), settings).failed == []
    return kb, settings


def test_script_of_a_text() -> None:
    assert is_cjk_text("年假几天？")
    assert is_cjk_text("罗伯特·阿夸弗雷斯卡（Robert Acquafresca）是意大利足球运动员")
    assert not is_cjk_text("What is the VPN policy?")
    assert not is_cjk_text("Kublai Khan (忽必烈) was the grandson of Genghis Khan.")
    assert not is_cjk_text("2024-01-01")


def test_documents_are_told_apart_by_script(mixed: tuple[KnowledgeBase, Settings]) -> None:
    kb = mixed[0]
    parts = partition(kb)
    names = {d.doc_id: Path(d.source).stem for d in kb.documents()}
    assert parts.mixed
    assert {names[d] for d in parts.other} == {
        "Ctenophora",
        "Private_school",
        "Apollo_program",
        "Yuan_dynasty",
    }
    assert {names[d] for d in parts.cjk} == {row["doc_id"] for row in _gold("zh-dev", ZH_LINES)}


def _first_doc(kb: KnowledgeBase, settings: Settings, question: str, mode: str) -> list[str]:
    options = replace(settings.retrieval, cross_lingual=mode)
    return [Path(h.source).stem for h in retrieve([kb], question, options, top_k=3)]


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("忽必烈汗的祖父是谁？", "Yuan_dynasty"),
        ("第一位进入太空的NASA科学家是谁？", "Apollo_program"),
        ("Which DVD region does Hong Kong belong to?", "TRIAL_299"),
        ("Which country is the racing driver Markus Winkelhock from?", "TRIAL_423"),
    ],
)
def test_a_translated_question_finds_its_passage(
    mixed: tuple[KnowledgeBase, Settings], question: str, doc_id: str
) -> None:
    kb, settings = mixed
    assert _first_doc(kb, settings, question, "by-script")[0] == doc_id


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("在尼泊尔的私立学校，主要的教学语言是什么？", "Private_school"),
        ("是谁为阿波罗任务命名的？", "Apollo_program"),
        ("What is the name of The Economist's finance column?", "TRIAL_111"),
    ],
)
def test_the_dictionary_translation_finds_what_the_embedder_misses(
    mixed: tuple[KnowledgeBase, Settings], question: str, doc_id: str
) -> None:
    """The question translated word by word (chatkb.bilingual) matches the other
    language's passage by keyword; by the embedder alone a passage in the question's own
    language comes first."""
    kb, settings = mixed
    options = replace(settings.retrieval, cross_lingual="by-script")
    on = retrieve([kb], question, options, top_k=3)
    off = retrieve([kb], question, replace(options, cross_lingual_dictionary=False))
    assert Path(on[0].source).stem == doc_id
    assert Path(off[0].source).stem != doc_id
    assert all(0 <= h.score <= 1 for h in on)


def test_one_mixed_ranking_puts_the_own_language_first(
    mixed: tuple[KnowledgeBase, Settings],
) -> None:
    """The bias searching by script removes: searched as one, a Chinese passage about
    something else outranks the English answer."""
    kb, settings = mixed
    assert _first_doc(kb, settings, "忽必烈汗的祖父是谁？", "off")[0].startswith("TRIAL_")


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        ("What does ctenophore mean in Greek?", "Ctenophora"),
        ("In what city is Rangi Ruru Girls' School?", "Private_school"),
        ("吕志兴的得意之作是什么？", "TRIAL_106"),
        ("德国环境与自然保护联盟有多少个邦分会组织？", "TRIAL_12"),
    ],
)
def test_same_language_questions_keep_their_passage(
    mixed: tuple[KnowledgeBase, Settings], question: str, doc_id: str
) -> None:
    kb, settings = mixed
    for mode in ("by-script", "off"):
        assert _first_doc(kb, settings, question, mode)[0] == doc_id, mode


def test_one_script_knowledge_base_is_searched_as_before(tmp_path: Path) -> None:
    rows = _gold("zh-dev", ZH_LINES[:3])
    folder = tmp_path / "docs"
    folder.mkdir()
    for row in rows:
        (folder / f"{row['doc_id']}.txt").write_text(row["gold_passage"], encoding="utf-8")
    settings = load_settings(home=tmp_path / "home", embedder={"threads": 1})
    kb = Library(settings).create("zh")
    ingest(kb, discover([folder]), settings)
    assert not partition(kb).mixed
    question = "What is the name of The Economist's finance column?"
    by_script = retrieve([kb], question, settings.retrieval)
    options = replace(settings.retrieval, cross_lingual="off")
    assert [(h.doc_id, h.score) for h in by_script] == [
        (h.doc_id, h.score) for h in retrieve([kb], question, options)
    ]


def test_a_write_in_another_process_is_searched_by_script_at_once(tmp_path: Path) -> None:
    """What a search keeps about the knowledge base (its documents, each script's, their
    chunk keys) lasts until the next write, whoever writes: here another library on the same
    folder, as another process would be, makes a Chinese knowledge base mixed."""
    rows = _gold("zh-dev", ZH_LINES[:3])
    (english,) = _gold("en-dev", (EN_LINES[1],))  # Private_school
    folder, more = tmp_path / "docs", tmp_path / "more"
    folder.mkdir()
    more.mkdir()
    for row in rows:
        (folder / f"{row['doc_id']}.txt").write_text(row["gold_passage"], encoding="utf-8")
    added = more / f"{english['doc_id']}.txt"
    added.write_text(english["gold_passage"], encoding="utf-8")
    settings = load_settings(home=tmp_path / "home", embedder={"threads": 1})
    writer = Library(settings).create("grows")
    ingest(writer, discover([folder]), settings)
    reader = Library(settings).open("grows")
    question = "在尼泊尔的私立学校，主要的教学语言是什么？"
    assert all(
        h.doc_id != english["doc_id"] for h in retrieve([reader], question, settings.retrieval)
    )

    def searched_as_if_just_opened() -> list[tuple[str, float]]:
        hits = [(h.source, h.score) for h in retrieve([reader], question, settings.retrieval)]
        fresh = Library(settings).open("grows")
        assert hits == [
            (h.source, h.score) for h in retrieve([fresh], question, settings.retrieval)
        ]
        return hits

    ingest(writer, discover([more]), settings)
    assert len(reader.documents()) == len(rows) + 1
    assert added.name in [source for source, _ in searched_as_if_just_opened()[:2]]

    remove(writer, [added.name])
    assert len(reader.documents()) == len(rows)
    assert added.name not in [source for source, _ in searched_as_if_just_opened()]
