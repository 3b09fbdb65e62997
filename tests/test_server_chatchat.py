"""Langchain-Chatchat-compatible routes, sent exactly as Chatchat 0.3's ``ApiRequest`` SDK
(webui_pages/utils.py) and its web UI's openai client (webui_pages/kb_chat.py) send them,
against a real uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from _datasets import doc
from _server import EN_DOC, EN_TXT, ZH_DOC, LiveServer, isolated_settings, sse_events

pytestmark = pytest.mark.server
QUESTION = "In which year was IBM founded as the Computing-Tabulating-Recording Company?"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from chatkb.server import create_app

    home = tmp_path_factory.mktemp("chatchat") / "home"
    # Indexing finishes within the wait here, however busy the machine: the answer lists
    # no pending files (test_server_chatchat_v02 tests the background path).
    server_settings = {"chatchat_upload_wait": 900}
    with (
        isolated_settings(home, server=server_settings) as settings,
        LiveServer(create_app(settings)) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as client:
        created = client.post(
            "/knowledge_base/create_knowledge_base",
            json={
                "knowledge_base_name": "samples",
                "vector_store_type": "faiss",
                "embed_model": "bge-large-zh-v1.5",
            },
        ).json()
        assert created["code"] == 200, created
        paths = [doc(EN_DOC), doc(ZH_DOC)]
        data = {
            "knowledge_base_name": "samples", "override": False, "to_vector_store": True,
            "chunk_size": 750, "chunk_overlap": 150, "zh_title_enhance": False,
            "docs": json.dumps({}), "not_refresh_vs_cache": False,
        }  # fmt: skip
        response = client.post(
            "/knowledge_base/upload_docs",
            data=data,
            files=[("files", (p.name, p.read_bytes())) for p in paths],
        ).json()
        assert response == {"code": 200, "msg": response["msg"], "data": {"failed_files": {}}}
        yield client


def test_list_knowledge_bases_and_files(api: httpx.Client) -> None:
    kbs = api.get("/knowledge_base/list_knowledge_bases").json()
    assert kbs["code"] == 200
    assert [kb["kb_name"] for kb in kbs["data"]] == ["samples"]
    assert kbs["data"][0]["file_count"] == 2
    files = api.get("/knowledge_base/list_files", params={"knowledge_base_name": "samples"}).json()
    names = {f["file_name"]: f for f in files["data"]}
    assert set(names) == {EN_DOC, ZH_DOC}
    assert names[EN_DOC]["in_db"] and names[EN_DOC]["in_folder"] and names[EN_DOC]["docs_count"] > 0
    missing = api.get("/knowledge_base/list_files", params={"knowledge_base_name": "nope"}).json()
    assert missing["code"] == 404 and missing["data"] is None


def test_search_docs(api: httpx.Client) -> None:
    data = {"query": QUESTION, "knowledge_base_name": "samples", "top_k": 3,
            "score_threshold": 2.0, "file_name": "", "metadata": {}}  # fmt: skip
    docs = api.post("/knowledge_base/search_docs", json=data).json()
    assert len(docs) == 3 and "1911" in docs[0]["page_content"]
    assert docs[0]["metadata"]["source"] == EN_DOC and docs[0]["type"] == "Document"
    assert docs[0]["score"] >= docs[1]["score"]  # higher is better in chatkb
    strict = api.post("/knowledge_base/search_docs", json={**data, "score_threshold": 0.0}).json()
    assert all(d["score"] == 1.0 for d in strict)
    listing = {**data, "query": "", "file_name": "zh_%"}
    chunks = api.post("/knowledge_base/search_docs", json=listing).json()
    assert chunks and {c["metadata"]["source"] for c in chunks} == {ZH_DOC}


def test_upload_existing_without_override_update_delete(api: httpx.Client) -> None:
    again = api.post(
        "/knowledge_base/upload_docs",
        data={"knowledge_base_name": "samples", "override": False, "to_vector_store": True},
        files=[("files", (EN_TXT, doc(EN_TXT).read_bytes())), ("files", (ZH_DOC, b"x"))],
    ).json()
    assert list(again["data"]["failed_files"]) == [ZH_DOC]  # exists; kept as it was
    update = {"knowledge_base_name": "samples", "file_names": [EN_TXT, "ghost.txt"],
              "override_custom_docs": False, "chunk_size": 750, "chunk_overlap": 150,
              "zh_title_enhance": False, "docs": "{}", "not_refresh_vs_cache": False}  # fmt: skip
    updated = api.post("/knowledge_base/update_docs", json=update).json()
    assert list(updated["data"]["failed_files"]) == ["ghost.txt"]
    delete = {"knowledge_base_name": "samples", "file_names": [EN_TXT],
              "delete_content": True, "not_refresh_vs_cache": False}  # fmt: skip
    assert api.post("/knowledge_base/delete_docs", json=delete).json()["data"] == {
        "failed_files": {}
    }
    files = api.get("/knowledge_base/list_files", params={"knowledge_base_name": "samples"}).json()
    assert EN_TXT not in {f["file_name"] for f in files["data"]}
    info = api.post(
        "/knowledge_base/update_info", json={"knowledge_base_name": "samples", "kb_info": "样例"}
    )
    assert info.json()["data"] == {"kb_info": "样例"}


def test_download_doc(api: httpx.Client) -> None:
    params = {"knowledge_base_name": "samples", "file_name": EN_DOC, "preview": False}
    response = api.get("/knowledge_base/download_doc", params=params)
    assert response.content == doc(EN_DOC).read_bytes()
    assert response.headers["content-disposition"].startswith("attachment")
    preview = api.get("/knowledge_base/download_doc", params={**params, "preview": True})
    assert preview.headers["content-disposition"].startswith("inline")


def test_recreate_vector_store_streams_progress(api: httpx.Client) -> None:
    data = {"knowledge_base_name": "samples", "allow_empty_kb": True, "vs_type": "faiss",
            "embed_model": "bge-large-zh-v1.5", "chunk_size": 750, "chunk_overlap": 150,
            "zh_title_enhance": False}  # fmt: skip
    with api.stream("POST", "/knowledge_base/recreate_vector_store", json=data, timeout=None) as r:
        events = [json.loads(d) for _, d in sse_events(r.read().decode())]
    assert [e["finished"] for e in events] == [1, 2]
    assert all(e["code"] == 200 and e["total"] == 2 for e in events)


def test_web_ui_kb_chat_through_the_openai_client(live: LiveServer, api: httpx.Client) -> None:
    extra_body = {"top_k": 3, "score_threshold": 1.0, "temperature": 0.7,
                  "prompt_name": "default", "return_direct": False}  # fmt: skip
    messages = [{"role": "user", "content": QUESTION}]
    url = f"{live.url}/knowledge_base/local_kb/samples"
    with openai.OpenAI(base_url=url, api_key="NONE") as client:
        chunks = list(client.chat.completions.create(
            messages=messages, model="qwen", stream=True, extra_body=extra_body  # type: ignore[arg-type]
        ))  # fmt: skip
    docs = chunks[0].docs  # type: ignore[attr-defined]
    assert docs[0].startswith("出处 [1]") and "download_doc?knowledge_base_name=samples" in docs[0]
    text = "".join(c.choices[0].delta.content or "" for c in chunks[1:])
    assert "1911" in text


def test_sdk_kb_chat_and_return_direct(api: httpx.Client) -> None:
    body = {"query": QUESTION, "mode": "local_kb", "kb_name": "samples", "top_k": 3,
            "score_threshold": 2.0, "history": [], "stream": True, "model": "qwen",
            "temperature": 0.7, "max_tokens": None, "prompt_name": "default",
            "return_direct": False}  # fmt: skip
    with api.stream("POST", "/chat/kb_chat", json=body) as r:
        events = [json.loads(d) for _, d in sse_events(r.read().decode())]
    assert events[0]["docs"] and events[0]["object"] == "chat.completion.chunk"
    assert "1911" in "".join(e["choices"][0]["delta"]["content"] for e in events[1:])
    whole = api.post("/chat/kb_chat", json={**body, "stream": False}).json()
    assert "1911" in whole["choices"][0]["message"]["content"]
    direct = api.post("/chat/kb_chat", json={**body, "stream": False, "return_direct": True}).json()
    assert direct["docs"] and direct["choices"][0]["message"]["content"] == ""
    engine = api.post("/chat/kb_chat", json={**body, "mode": "search_engine"})
    assert engine.json()["code"] == 422


def test_file_chat_with_temporary_docs(live: LiveServer, api: httpx.Client) -> None:
    data = {
        "knowledge_id": None,
        "chunk_size": 750,
        "chunk_overlap": 150,
        "zh_title_enhance": False,
    }
    uploaded = api.post(
        "/knowledge_base/upload_temp_docs",
        data=data,
        files=[("files", (EN_DOC, doc(EN_DOC).read_bytes()))],
    ).json()
    knowledge_id = uploaded["data"]["id"]
    assert uploaded["code"] == 200 and uploaded["data"]["failed_files"] == []
    body = {"query": QUESTION, "knowledge_id": knowledge_id, "top_k": 3, "score_threshold": 1.0,
            "history": [], "stream": True, "model_name": None, "temperature": 0.9,
            "max_tokens": None, "prompt_name": "default"}  # fmt: skip
    with api.stream("POST", "/chat/file_chat", json=body) as r:
        events = [json.loads(d) for _, d in sse_events(r.read().decode())]
    assert "1911" in "".join(e.get("answer", "") for e in events)
    assert events[-1]["docs"][0].startswith("出处 [1]")
    url = f"{live.url}/knowledge_base/temp_kb/{knowledge_id}"
    with openai.OpenAI(base_url=url, api_key="NONE") as client:
        chunks = list(client.chat.completions.create(
            messages=[{"role": "user", "content": QUESTION}], model="qwen", stream=True
        ))  # fmt: skip
    assert "1911" in "".join(c.choices[0].delta.content or "" for c in chunks[1:])
    # 0.3's search_temp_docs route: the same temporary knowledge base, searched.
    search = {"knowledge_id": knowledge_id, "query": QUESTION, "top_k": 3, "score_threshold": 2.0}
    found = api.post("/knowledge_base/search_temp_docs", json=search).json()
    assert found and found[0]["metadata"]["source"] == EN_DOC
    as_declared = api.post("/knowledge_base/search_temp_docs", params=search).json()
    assert [d["id"] for d in as_declared] == [d["id"] for d in found]
    kbs = api.get("/knowledge_base/list_knowledge_bases").json()["data"]
    assert [kb["kb_name"] for kb in kbs] == ["samples"]


def test_delete_knowledge_base_takes_a_bare_json_string(api: httpx.Client) -> None:
    api.post("/knowledge_base/create_knowledge_base", json={"knowledge_base_name": "gone"})
    deleted = api.post("/knowledge_base/delete_knowledge_base", json="gone").json()
    assert deleted["code"] == 200
    again = api.post("/knowledge_base/delete_knowledge_base", json="gone").json()
    assert again["code"] == 404 and "msg" in again
