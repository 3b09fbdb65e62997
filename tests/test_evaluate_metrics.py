"""Evaluation metrics on small cases checked by hand."""

from __future__ import annotations

import math

import pytest

from chatkb.evaluation import metrics as m


def test_answer_rank_ignores_whitespace_and_takes_the_first_hit() -> None:
    texts = ["nothing here", "the Apollo\nprogram", "Apollo program again"]
    assert m.answer_rank(texts, ["Apollo program"]) == 2
    assert m.answer_rank(texts, ["Gemini"]) is None
    assert m.answer_rank(["中华 人民"], ["中华人民"]) == 1
    assert m.answer_rank(["anything"], ["", "  "]) is None  # blank answers never match


def test_recall_and_mrr_by_hand() -> None:
    ranks = [1, 3, None, 2]
    assert m.recall_at(ranks, 1) == 0.25
    assert m.recall_at(ranks, 3) == 0.75
    assert m.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert m.mrr_at(ranks, 2) == pytest.approx((1 + 0.5) / 4)  # rank 3 is beyond k
    assert m.recall_at([], 5) == 0.0


def test_budget_counts_characters_in_rank_order() -> None:
    texts = ["a" * 600, "b" * 300 + "ANSWER", "ANSWER"]
    assert not m.within_budget(texts, ["ANSWER"], 900)  # second text cut after 300 chars
    assert m.within_budget(texts, ["ANSWER"], 906)  # ... and whole at 906
    assert m.within_budget(["xx ANSWER"], ["ANSWER"], 9)
    assert not m.within_budget(["xx ANSWER"], ["ANSWER"], 8)


def test_budget_never_matches_across_two_chunks() -> None:
    assert not m.within_budget(["the ans", "wer"], ["answer"], 1000)


def test_ndcg_by_hand() -> None:
    assert m.ndcg_at([True, False, False], 10) == 1.0
    assert m.ndcg_at([False, True], 10) == pytest.approx(1 / math.log2(3))
    # two relevant at ranks 1 and 3: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert m.ndcg_at([True, False, True], 10) == pytest.approx(expected)
    assert m.ndcg_at([False, False], 10) == 0.0
    assert m.ndcg_at([False, True], 1) == 0.0


def test_document_rank_by_source_stem_or_doc_id() -> None:
    sources = ["corpus/Oxygen.txt", "Apollo_program.txt"]
    doc_ids = ["a1", "b2"]
    assert m.doc_rank(sources, doc_ids, "Apollo_program") == 2
    assert m.doc_rank(sources, doc_ids, "a1") == 1
    assert m.doc_rank(sources, doc_ids, "Huguenot") is None
    assert m.doc_rank(sources, doc_ids, None) is None


def test_percentiles_interpolate() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert m.percentile(values, 50) == 30.0
    assert m.percentile(values, 95) == pytest.approx(48.0)
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([], 50) == 0.0


def test_exact_match_and_f1_follow_squad_normalisation() -> None:
    assert m.exact_match("The Peace.", ["peace"]) == 1.0
    assert m.exact_match("peace talks", ["peace"]) == 0.0
    # prediction "peace with israel" vs "peace": P = 1/3, R = 1 -> F1 = 0.5
    assert m.token_f1("peace with Israel", ["peace"]) == pytest.approx(0.5)
    assert m.token_f1("war", ["peace"]) == 0.0
    assert m.exact_match("Peace [2].", ["peace"]) == 1.0
    assert m.token_f1("peace [1][3]", ["peace"]) == 1.0
    assert m.token_f1("anything", ["nope", "anything"]) == 1.0


def test_chinese_answers_are_scored_by_characters() -> None:
    assert m.answer_tokens("香港，足球") == ["香", "港", "足", "球"]
    # prediction 香港足球 (4 chars) vs reference 香港 (2): P = 0.5, R = 1 -> F1 = 2/3
    assert m.token_f1("香港足球", ["香港"]) == pytest.approx(2 / 3)
    assert m.exact_match("香港。", ["香 港"]) == 1.0
    assert m.answer_tokens("GPT-4 模型") == ["gpt", "4", "模", "型"]
