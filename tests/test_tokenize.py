"""Keyword tokens: jieba words for Chinese, stemmed words for English, one function for both."""

from __future__ import annotations

from chatkb.tokenize import tokenize


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
