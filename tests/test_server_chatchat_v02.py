"""Langchain-Chatchat 0.2.10's API, request for request as its ``ApiRequest``
(webui_pages/utils.py at tag v0.2.10) sends it, read back the way that client reads it, against
a real uvicorn; and the 0.3 calls that have no 0.2.10 counterpart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from _datasets import doc
from _server import EN_DOC, EN_TXT, ZH_DOC, LiveServer, isolated_settings
from chatkb.llm.llamacpp_server import LlamaCppServer

pytestmark = pytest.mark.server
QUESTION = "In which year was IBM founded as the Computing-Tabulating-Recording Company?"
# ApiRequest's defaults at v0.2.10 (configs/kb_config.py, model_config.py).
TOP_K, SCORE_THRESHOLD, TEMPERATURE, MODEL = 3, 1.0, 0.7, "chatglm3-6b"


def stream_json(response: httpx.Response) -> list[Any]:
    """ApiRequest._httpx_stream2generator(as_json=True): each text chunk is one event."""
    out = []
    for chunk in response.iter_text(None):
        if not chunk:
            continue
        if chunk.startswith("data: "):
            out.append(json.loads(chunk[6:-2]))
        elif not chunk.startswith(":"):
            out.append(json.loads(chunk))
    return out


def post_stream(api: httpx.Client, url: str, body: Any) -> list[Any]:
    with api.stream("POST", url, json=body) as response:
        return stream_json(response)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from chatkb.server import create_app

    home = tmp_path_factory.mktemp("chatchat02") / "home"
    server = {"chatchat_version": "0.2", "chatchat_upload_wait": 0}
    with isolated_settings(home, server=server) as settings, LiveServer(create_app(settings)) as s:
        yield s


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as client:
        created = client.post(
            "/knowledge_base/create_knowledge_base",
            json={"knowledge_base_name": "samples", "vector_store_type": "faiss",
                  "embed_model": "bge-large-zh-v1.5"},
        ).json()  # fmt: skip
        assert created["code"] == 200
        data = {"knowledge_base_name": "samples", "override": False, "to_vector_store": True,
                "chunk_size": 250, "chunk_overlap": 50, "zh_title_enhance": False,
                "docs": json.dumps({}), "not_refresh_vs_cache": False}  # fmt: skip
        paths = [doc(EN_DOC), doc(ZH_DOC)]
        files = [("files", (p.name, p.read_bytes())) for p in paths]
        uploaded = client.post("/knowledge_base/upload_docs", data=data, files=files).json()
        # upload_wait is 0 here: the answer comes at once, indexing goes on in the background.
        assert uploaded["code"] == 200 and uploaded["data"]["failed_files"] == {}
        assert set(uploaded["data"]["pending_files"]) <= {EN_DOC, ZH_DOC}
        if uploaded["data"]["pending_files"]:
            _wait_job(client, uploaded["data"]["job_id"])
        yield client


def _wait_job(client: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 300
    while client.get(f"/api/jobs/{job_id}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_list_files_is_a_list_of_names_under_0_2(api: httpx.Client) -> None:
    files = api.get("/knowledge_base/list_files", params={"knowledge_base_name": "samples"})
    assert sorted(files.json()["data"]) == sorted([EN_DOC, ZH_DOC])
    details = api.get(
        "/knowledge_base/list_files", params={"knowledge_base_name": "samples", "shape": "details"}
    ).json()["data"]
    assert {d["file_name"] for d in details} == {EN_DOC, ZH_DOC} and details[0]["in_db"]


def test_list_knowledge_bases_is_a_list_of_names_under_0_2(api: httpx.Client) -> None:
    """ApiRequest.list_knowledge_bases: the 0.2.10 chat page puts ``data`` in a select box."""
    assert api.get("/knowledge_base/list_knowledge_bases").json()["data"] == ["samples"]
    details = api.get("/knowledge_base/list_knowledge_bases", params={"shape": "details"})
    assert details.json()["data"][0]["kb_name"] == "samples"


def test_knowledge_base_chat_streams_answer_then_docs(api: httpx.Client) -> None:
    body = {"query": QUESTION, "knowledge_base_name": "samples", "top_k": TOP_K,
            "score_threshold": SCORE_THRESHOLD, "history": [], "stream": True,
            "model_name": MODEL, "temperature": TEMPERATURE, "max_tokens": None,
            "prompt_name": "default"}  # fmt: skip
    events = post_stream(api, "/chat/knowledge_base_chat", body)
    assert "1911" in "".join(e.get("answer", "") for e in events[:-1])
    docs = events[-1]["docs"]
    assert (
        docs[0].startswith("出处 [1] [") and "download_doc?knowledge_base_name=samples" in docs[0]
    )
    whole = post_stream(api, "/chat/knowledge_base_chat", {**body, "stream": False})
    assert len(whole) == 1 and "1911" in whole[0]["answer"] and whole[0]["docs"]
    history = [{"role": "user", "content": "Tell me about IBM."},
               {"role": "assistant", "content": "IBM is a computer company."}]  # fmt: skip
    followed = post_stream(api, "/chat/knowledge_base_chat", {**body, "history": history})
    assert "1911" in "".join(e.get("answer", "") for e in followed)


def test_knowledge_base_chat_errors_are_chatchat_shaped(api: httpx.Client) -> None:
    body = {"query": QUESTION, "knowledge_base_name": "nope", "stream": True}
    events = post_stream(api, "/chat/knowledge_base_chat", body)
    assert events[0]["code"] == 404 and events[0]["msg"]  # what check_error_msg shows
    strict = post_stream(
        api, "/chat/knowledge_base_chat",
        {"query": "zebra migration patterns", "knowledge_base_name": "samples",
         "score_threshold": 0.0, "stream": False},
    )  # fmt: skip
    assert strict[0]["docs"] == [
        "<span style='color:red'>未找到相关文档,该回答为大模型自身能力解答！</span>"
    ]


def test_plain_chat_without_an_llm_is_a_clear_error(api: httpx.Client) -> None:
    body = {"query": "你好", "conversation_id": "c1", "history_len": -1, "history": [],
            "stream": True, "model_name": MODEL, "temperature": TEMPERATURE,
            "max_tokens": None, "prompt_name": "default"}  # fmt: skip
    events = post_stream(api, "/chat/chat", body)
    assert events[0]["code"] == 400 and "[llm]" in events[0]["msg"]


def test_model_and_server_routes_the_web_ui_calls(api: httpx.Client) -> None:
    running = api.post("/llm_model/list_running_models", json={"controller_address": None})
    assert running.json()["data"] == {"extractive": running.json()["data"]["extractive"]}
    assert running.json()["data"]["extractive"]["online_api"] is False
    config = api.post("/llm_model/list_config_models", json={"types": ["local", "online"]})
    assert (
        list(config.json()["data"]["local"]) == ["extractive"]
        and config.json()["data"]["online"] == {}
    )
    model = api.post("/llm_model/get_model_config", json={"model_name": "extractive"}).json()
    assert model["data"]["model_name"] == "extractive"
    change = api.post("/llm_model/change", json={"model_name": "a", "new_model_name": "b",
                                                  "controller_address": None})  # fmt: skip
    assert change.status_code == 501 and change.json()["code"] == 501
    configs = api.post("/server/configs").json()
    assert configs["DEFAULT_VS_TYPE"] == "chatkb" and "PROMPT_TEMPLATES" in configs
    template = api.post("/server/get_prompt_template", json={"type": "llm_chat", "name": "default"})
    assert template.text == '"{{ input }}"'  # a JSON string: ApiRequest reads r.text
    engines = api.post("/server/list_search_engines").json()
    assert engines == {"code": 200, "msg": "success", "data": []}


def test_feedback_embed_texts_and_unsupported_features(api: httpx.Client) -> None:
    fb = api.post("/chat/feedback", json={"message_id": "abc", "score": 100, "reason": "good"})
    assert fb.json()["code"] == 200
    embedded = api.post(
        "/other/embed_texts",
        json={"texts": ["hello", "世界"], "embed_model": "bge-large-zh-v1.5", "to_query": False},
    ).json()
    assert embedded["code"] == 200 and [len(v) for v in embedded["data"]] == [384, 384]
    search = {"query": "x", "search_engine_name": "duckduckgo", "top_k": 3, "history": [],
              "stream": True, "model_name": MODEL, "temperature": TEMPERATURE,
              "max_tokens": None, "prompt_name": "default", "split_result": False}  # fmt: skip
    for url, body in (("/chat/search_engine_chat", search), ("/chat/agent_chat", {"query": "x"})):
        events = post_stream(api, url, body)
        assert events[0]["code"] == 501 and "not supported" in events[0]["msg"]
    by_id = api.post(
        "/knowledge_base/update_docs_by_id",
        json={"knowledge_base_name": "samples", "docs": {"x": {"page_content": "y"}}},
    )
    assert by_id.json()["code"] == 501 and "PATCH" in by_id.json()["msg"]


def test_upload_large_batch_returns_before_indexing(api: httpx.Client) -> None:
    data = {"knowledge_base_name": "samples", "override": False, "to_vector_store": True,
            "chunk_size": 250, "chunk_overlap": 50, "zh_title_enhance": False,
            "docs": "{}", "not_refresh_vs_cache": False}  # fmt: skip
    files = [("files", (EN_TXT, doc(EN_TXT).read_bytes()))]
    uploaded = api.post("/knowledge_base/upload_docs", data=data, files=files).json()
    assert uploaded["code"] == 200 and uploaded["data"]["failed_files"] == {}
    if uploaded["data"].get("pending_files"):
        assert uploaded["data"]["pending_files"] == [EN_TXT]
        assert "background" in uploaded["msg"]
        _wait_job(api, uploaded["data"]["job_id"])
    names = api.get("/knowledge_base/list_files", params={"knowledge_base_name": "samples"})
    assert EN_TXT in names.json()["data"]
    deleted = api.post(
        "/knowledge_base/delete_docs",
        json={"knowledge_base_name": "samples", "file_names": [EN_TXT], "delete_content": True,
              "not_refresh_vs_cache": False},
    ).json()  # fmt: skip
    assert deleted["code"] == 200


def test_plain_chat_with_an_llm(tmp_path: Path, llm_server: LlamaCppServer) -> None:
    """/chat/chat (0.2.10 ApiRequest.chat_chat), /other/completion and 0.3's
    /chat/chat/completions (its web UI's openai client at base_url …/chat) on SmolLM2."""
    from chatkb.server import create_app

    llm = {"backend": "openai", "base_url": llm_server.base_url, "model": llm_server.model}
    with (
        isolated_settings(tmp_path / "home", llm=llm) as settings,
        LiveServer(create_app(settings)) as live,
        live.client() as api,
        openai.OpenAI(base_url=f"{live.url}/chat", api_key="NONE", max_retries=0) as client,
    ):
        body = {"query": "Say hello.", "conversation_id": "c1", "history_len": -1,
                "history": [], "stream": True, "model_name": llm_server.model,
                "temperature": TEMPERATURE, "max_tokens": 8, "prompt_name": "default"}  # fmt: skip
        events = post_stream(api, "/chat/chat", body)
        assert "".join(e["text"] for e in events) and events[0]["message_id"]
        with api.stream("POST", "/other/completion", json={"query": "Hello", "max_tokens": 8,
                                                          "stream": True}) as r:  # fmt: skip
            assert r.status_code == 200 and r.read()
        extra_body = {"metadata": {}, "chat_model_config": {}, "conversation_id": "c1",
                      "tool_input": {}, "upload_image": None}  # fmt: skip
        chunks = list(client.chat.completions.create(
            messages=[{"role": "user", "content": "Say hello."}], model=llm_server.model,
            stream=True, tool_choice=None, extra_body=extra_body, max_tokens=8,  # type: ignore[call-overload]
        ))  # fmt: skip
        assert [c.status for c in chunks][-1] == 3  # type: ignore[attr-defined]
        assert "".join(c.choices[0].delta.content or "" for c in chunks)
        with pytest.raises(openai.APIStatusError) as tools:
            client.chat.completions.create(
                messages=[{"role": "user", "content": "x"}], model=llm_server.model,
                tools=[{"type": "function", "function": {"name": "calculate"}}],
            )  # fmt: skip
        assert tools.value.status_code == 501
