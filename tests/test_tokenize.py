"""Keyword tokens: jieba words for Chinese, stemmed words for English, one function for both."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from chatkb.tokenize import _cjk_words, _runs, _stem, tokenize


def test_chinese_search_mode_emits_parts_of_compounds() -> None:
    tokens = tokenize("中华人民共和国成立于1949年")
    assert {"中华人民共和国", "人民", "共和国", "1949"} <= set(tokens)


def test_english_is_lowercased_and_stemmed() -> None:
    assert tokenize("Running Studies on Tokenizers") == ["run", "studi", "on", "token"]


def test_query_stopwords_are_dropped_but_never_everything() -> None:
    # Words first (stopwords dropped), then the character bigrams of the CJK run.
    assert tokenize("什么是熊猫？", drop_stopwords=True) == ["熊猫", "什么", "么是", "是熊", "熊猫"]
    assert tokenize("What is the", drop_stopwords=True) == ["what", "is", "the"]


def test_chinese_runs_add_character_bigrams() -> None:
    # "得意之作" and "吕志" match even where jieba cuts the document text differently.
    tokens = tokenize("吕志兴的得意之作")
    assert {"吕志", "志兴", "得意", "意之", "之作"} <= set(tokens)
    assert tokenize("Oxygen is an element") == ["oxygen", "is", "an", "element"]


def test_tokens_are_alphanumeric_only() -> None:
    tokens = tokenize('Café "quotes" — 3.14, e-mail; 《三国演义》!')
    assert all(t.isalnum() for t in tokens)
    assert "三国演义" in tokens and "café" in tokens


def _dev_texts() -> list[str]:
    datasets = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    texts = [p.read_text(encoding="utf-8") for p in sorted(datasets.glob("*-dev/corpus/*"))]
    for qa in sorted(datasets.glob("*-dev/qa.jsonl")):
        lines = qa.read_text(encoding="utf-8").splitlines()
        texts.extend(json.loads(line)["question"] for line in lines if line.strip())
    return texts


def test_chinese_is_cut_exactly_as_the_python_jieba_cuts_it() -> None:
    """Knowledge bases built before the switch to jieba-rs hold Python jieba's tokens: the
    two must agree, or their keyword search would lose matches. Checked on every CJK run of
    the dev corpora and questions."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    runs = {run for text in _dev_texts() for run, _ in _runs().findall(text.lower()) if run}
    assert len(runs) > 10_000
    differ = [
        run
        for run in sorted(runs)
        if _cjk_words(run)
        != ([w for w in jieba.cut_for_search(run, HMM=True) if w.strip()] or [run])
    ]
    assert differ == []


def test_stems_are_snowballs_own() -> None:
    """PyStemmer (C) when installed, the pure-Python Snowball otherwise: the same stems."""
    from snowballstemmer.english_stemmer import EnglishStemmer

    words = sorted({w for text in _dev_texts() for w in re.findall(r"[a-z]{4,}", text.lower())})
    reference = EnglishStemmer()
    assert len(words) > 5000
    assert [_stem(w) for w in words] == [reference.stemWord(w) for w in words]
