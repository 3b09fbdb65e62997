"""Query rewriting from chat history: the prompt, the cleaning of the model's reply, and
the ask flow searching with the rewritten query.

``_ScriptedModel`` stands in for a capable chat model where a test needs a known rewrite
(SmolLM2-135M, the model that runs here, cannot be relied on to produce one); the real
llama.cpp server test checks the plumbing end to end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from _small_kb import build_small_kb, copy_into
from chatkb.answer import ask
from chatkb.kb import Library
from chatkb.llm import GenerationOptions, LLMAnswerer
from chatkb.llm.openai_chat import OpenAIChat
from chatkb.models import Message
from chatkb.rewrite import clean_rewrite, context_query, drift, rewrite_messages, rewrite_query
from chatkb.settings import LLMSettings, Settings

HISTORY = (
    Message("user", "Tell me about IBM."),
    Message("assistant", "IBM is an American technology company headquartered in Armonk."),
)


class _ScriptedModel:
    """Replies with a fixed rewrite first, then a fixed answer; records what it was sent."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.sent: list[list[Message]] = []

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        self.sent.append(list(messages))
        yield self.replies.pop(0)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_kb(tmp_path_factory.mktemp("rewrite"))


def test_nothing_to_rewrite_without_history_or_model() -> None:
    model = _ScriptedModel("should not be used")
    assert rewrite_query("When was it founded?", (), model) == "When was it founded?"
    assert rewrite_query("When was it founded?", HISTORY, None) == "When was it founded?"
    system_only = (Message("system", "be brief"),)
    assert rewrite_query("When was it founded?", system_only, model) == "When was it founded?"
    assert model.sent == []


def test_prompt_carries_the_recent_turns_and_the_question() -> None:
    messages = rewrite_messages("When was it founded?", HISTORY)
    assert messages[0].role == "system" and "standalone" in messages[0].content
    assert "User: Tell me about IBM." in messages[1].content
    assert messages[1].content.endswith(
        "Follow-up question: When was it founded?\nStandalone question:"
    )
    chinese = rewrite_messages("它是哪一年成立的？", (Message("user", "介绍一下IBM"),))
    assert "独立问题" in chinese[0].content and "用户: 介绍一下IBM" in chinese[1].content
    long_history = [Message("user", f"turn {i}") for i in range(20)]
    assert "turn 13" not in rewrite_messages("q?", long_history)[1].content


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("When was IBM founded?", "When was IBM founded?"),
        (
            'Standalone question: "When was IBM founded?"\nBecause the user…',
            "When was IBM founded?",
        ),
        ("\n\n  独立问题：IBM是哪一年成立的？  ", "IBM是哪一年成立的？"),
        ("   ", ""),
    ],
)
def test_replies_are_cleaned(reply: str, expected: str) -> None:
    assert clean_rewrite(reply) == expected


def test_rambling_replies_fall_back_to_the_question() -> None:
    model = _ScriptedModel("IBM " * 200)
    assert rewrite_query("When was it founded?", HISTORY, model) == "When was it founded?"


def test_ask_searches_with_the_rewritten_query(settings: Settings, home: Path, built: Path) -> None:
    copy_into(home, built)
    kb = Library(settings).open("small")
    model = _ScriptedModel("When was IBM founded?", "In 1911 [1].")
    stream = ask(
        [kb], "When was it founded?", settings, answerer=LLMAnswerer(model), history=HISTORY
    )
    answer = stream.result()
    assert stream.query == "When was IBM founded?"
    assert answer.found and "1911" in answer.citations[0].text
    # The answer prompt keeps the user's own words and the earlier turns.
    final = model.sent[1]
    assert "Question: When was it founded?\n" in final[-1].content
    assert [m.content for m in final[1:3]] == [m.content for m in HISTORY]


@pytest.mark.server
def test_rewrite_with_a_real_llm_server(llm_server: Any) -> None:
    model = OpenAIChat(
        LLMSettings(backend="openai", base_url=llm_server.base_url, model=llm_server.model)
    )
    try:
        rewritten = rewrite_query("When was it founded?", HISTORY, model)
    finally:
        model.close()
    assert rewritten.strip() and "\n" not in rewritten
    assert len(rewritten) <= 3 * len("When was it founded?") + 200


VACATION = (
    Message("user", "How many vacation days do new employees get?"),
    Message("assistant", "New employees get 15 vacation days a year."),
)


@pytest.mark.parametrize(
    ("rewritten", "reason"),
    [
        # The failure the follow-up rule exists for: the model answers instead of rewriting,
        # taking "15" from its own earlier answer.
        ("New employees can carry 15 vacation days over", "numbers from the answer"),
        ("What is the weather in Paris tomorrow morning", "new words"),
        ("vacation", "the question's own words are gone"),
    ],
)
def test_drifting_rewrites_are_discarded(rewritten: str, reason: str) -> None:
    question = "And can they carry them over to next year?"
    why = drift(rewritten, question, VACATION)
    assert why is not None and why.startswith(reason)


def test_a_faithful_rewrite_is_kept() -> None:
    question = "And can they carry them over to next year?"
    rewritten = "Can new employees carry vacation days over to next year?"
    assert drift(rewritten, question, VACATION) is None


def test_chinese_rewrite_that_is_not_a_question_is_discarded() -> None:
    history = (Message("user", "出差住宿怎么报销？"), Message("assistant", "按标准报销。"))
    assert drift("你可以在这里进行独立问题。", "差旅住宿标准是多少？", history) is not None


def test_context_query_joins_the_previous_question() -> None:
    assert context_query("Can they carry them over?", VACATION) == (
        "How many vacation days do new employees get? Can they carry them over?"
    )
    assert context_query("Anything?", ()) is None
    assert context_query(VACATION[0].content, VACATION) is None
