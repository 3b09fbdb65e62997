"""The LLM seam: the OpenAI-compatible backend against a real llama.cpp server on loopback,
and the extractive answerer. (SmolLM2-135M is tiny: we assert the protocol, the streaming
and the citation mapping, not the wisdom of its answers.)"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from _datasets import datasets_dir
from chatkb.errors import BackendUnavailableError, ConfigError
from chatkb.llm import GenerationOptions, make_chat_model
from chatkb.llm.extractive import LABEL_EN, extractive_answer
from chatkb.llm.llamacpp_server import LlamaCppServer
from chatkb.llm.openai_chat import OpenAIChat
from chatkb.llm.prompts import answer_messages
from chatkb.models import Hit, Message
from chatkb.settings import LLMSettings
from conftest import Cli


def _hit(n: int, text: str, source: str = "a.txt") -> Hit:
    return Hit(n, 1.0 / n, text, source, f"d{n}", f"c{n}", None, 0, len(text))


@pytest.mark.server
def test_openai_chat_streams_from_a_real_server(llm_server: LlamaCppServer) -> None:
    settings = LLMSettings(backend="openai", base_url=llm_server.base_url, model=llm_server.model)
    model = make_chat_model(settings)
    assert isinstance(model, OpenAIChat)
    pieces = list(
        model.stream([Message("user", "Say hello.")], GenerationOptions(0.0, max_tokens=24))
    )
    assert len(pieces) > 1, "the answer arrives in several streamed pieces"
    assert "".join(pieces).strip()


@pytest.mark.server
def test_the_servers_own_token_counts_are_kept(llm_server: LlamaCppServer) -> None:
    settings = LLMSettings(backend="openai", base_url=llm_server.base_url, model=llm_server.model)
    model = OpenAIChat(settings)
    stream = model.stream([Message("user", "Say hello.")], GenerationOptions(0.0, max_tokens=8))
    assert stream.usage is None  # not before the answer has come
    pieces = list(stream)
    assert stream.usage is not None and 0 < stream.usage.completion_tokens <= 8
    assert stream.usage.prompt_tokens > 3  # the chat template's tokens are in it, too
    quiet = OpenAIChat(replace(settings, stream_usage=False))
    unreported = quiet.stream([Message("user", "Say hello.")], GenerationOptions(0.0, 8))
    assert list(unreported) and unreported.usage is None and pieces


@pytest.mark.server
def test_chatkb_ask_with_openai_backend(
    cli: Cli, llm_server: LlamaCppServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = datasets_dir() / "zh-dev" / "corpus" / "TRIAL_109.txt"
    shutil.copy(source, tmp_path / "TRIAL_109.txt")
    cli("kb", "create", "zh")
    cli("add", "zh", str(tmp_path / "TRIAL_109.txt"))
    monkeypatch.setenv("CHATKB_LLM__BACKEND", "openai")
    monkeypatch.setenv("CHATKB_LLM__BASE_URL", llm_server.base_url)
    monkeypatch.setenv("CHATKB_LLM__MODEL", llm_server.model)
    monkeypatch.setenv("CHATKB_LLM__MAX_TOKENS", "48")
    monkeypatch.setenv("CHATKB_LLM__TEMPERATURE", "0")
    answer = cli.json("ask", "zh", "马飚毕业于哪所大学？")
    assert answer["model"] == llm_server.model
    assert answer["extractive"] is False and answer["found"] is True
    assert answer["answer"].strip()
    # SmolLM2-135M may or may not write [n]: only what it cites is listed, and the flag says so.
    assert answer["grounded"] is bool(answer["citations"])
    assert all(c["source"] == "TRIAL_109.txt" for c in answer["citations"])
    streamed = cli("ask", "zh", "马飚毕业于哪所大学？")
    if answer["grounded"]:
        assert "Sources" in streamed.stdout and "TRIAL_109.txt" in streamed.stdout
    else:
        assert "Sources" not in streamed.stdout and "cites no passage" in streamed.stderr


def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connection refused
        settings = LLMSettings(
            backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout=5
        )
        model = make_chat_model(settings)
        assert model is not None
        with pytest.raises(BackendUnavailableError, match="cannot reach the LLM server"):
            list(model.stream([Message("user", "hi")], GenerationOptions()))


def test_openai_backend_requires_url_and_model() -> None:
    with pytest.raises(ConfigError, match="base URL and a model"):
        make_chat_model(LLMSettings(backend="openai"))
    with pytest.raises(ConfigError, match=r"unknown llm 'gpt'; valid names: .*extractive.*openai"):
        make_chat_model(LLMSettings(backend="gpt"))


def test_prompt_numbers_passages_and_keeps_history() -> None:
    hits = [_hit(1, "Oxygen is element 8."), _hit(2, "Helium is element 2.", "b.pdf")]
    history = [Message("user", "Tell me about gases"), Message("assistant", "Sure.")]
    messages = answer_messages("What number is oxygen?", hits, history)
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert "[1] (a.txt)\nOxygen is element 8." in messages[-1].content
    assert "[2] (b.pdf)" in messages[-1].content
    assert "[n]" in messages[0].content
    assert "资料" in answer_messages("氧是几号元素？", hits)[-1].content


def test_extractive_answer_quotes_the_best_sentences_with_citations() -> None:
    hits = [
        _hit(1, "Oxygen\n\nOxygen is a chemical element. Its atomic number is 8."),
        _hit(2, "Helium is a noble gas. It is light."),
    ]
    text = extractive_answer("What is the atomic number of oxygen?", hits)
    assert text.startswith(LABEL_EN)
    assert "- Its atomic number is 8. [1]" in text
    assert "noble gas" not in text


def test_a_reader_that_stops_early_closes_the_model_stream() -> None:
    from chatkb.answer import AnswerStream

    closed: list[bool] = []

    def pieces() -> Iterator[str]:
        try:
            yield from ["a", "b", "c"]
        finally:
            closed.append(True)

    stream = AnswerStream(hits=[], pieces=pieces(), model="m", extractive=False, found=True)
    reader = iter(stream)
    assert next(reader) == "a"
    reader.close()  # what the server does when the client disconnects
    assert closed == [True]


def test_extractive_answer_does_not_quote_questions_back() -> None:
    faq = "Who do I call when the VPN does not connect?\nCall the IT desk at extension 4100."
    text = extractive_answer("Who do I call when the VPN does not connect?", [_hit(1, faq)])
    assert "- Call the IT desk at extension 4100. [1]" in text
    assert "Who do I call" not in text
