"""Search, chat (JSON and SSE), conversations and feedback; a disconnect mid-stream against a
real uvicorn and the real llama.cpp server (SmolLM2) from the ``llm_server`` fixture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from _datasets import doc
from _server import EN_DOC, ZH_DOC, LiveServer, isolated_settings, sse_events, upload
from chatkb.llm.llamacpp_server import LlamaCppServer
from chatkb.server import create_app

QUESTION = "In which year was IBM founded as the Computing-Tabulating-Recording Company?"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("chat") / "home"
    with isolated_settings(home) as settings, TestClient(create_app(settings)) as c:
        for name, path in (("en", doc(EN_DOC)), ("zh", doc(ZH_DOC))):
            c.post("/api/kbs", json={"name": name})
            upload(c, name, [path])
        yield c


def test_search_across_kbs_with_top_k_and_source_filter(client: TestClient) -> None:
    hits = client.post("/api/search", json={"query": "IBM", "kbs": ["en", "zh"], "top_k": 3}).json()
    assert hits["count"] == 3
    assert [h["rank"] for h in hits["data"]] == [1, 2, 3]
    assert hits["data"][0]["kb"] == "en" and 0 < hits["data"][0]["score"] <= 1
    filtered = client.post(
        "/api/search", json={"query": "IBM", "kbs": ["en", "zh"], "filters": {"source": "zh_*"}}
    ).json()
    assert filtered["count"] > 0 and all(h["source"] == ZH_DOC for h in filtered["data"])
    assert client.post("/api/search", json={"query": "x", "kbs": ["nope"]}).status_code == 404
    assert client.post("/api/search", json={"query": "", "kbs": ["en"]}).status_code == 422


def test_chat_json_answer_cites_and_is_stored(client: TestClient) -> None:
    answer = client.post(
        "/api/chat", json={"question": QUESTION, "kbs": ["en"], "stream": False}
    ).json()
    assert answer["found"] and answer["extractive"] and answer["model"] == "extractive"
    assert answer["citations"][0]["source"] == EN_DOC
    assert {"n", "source", "page", "text"} <= set(answer["citations"][0])
    conversation = client.get(f"/api/conversations/{answer['conversation_id']}").json()
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"]
    assert conversation["messages"][1]["id"] == answer["message_id"]
    assert conversation["kbs"] == ["en"]


def test_chat_stream_sends_tokens_then_citations(client: TestClient) -> None:
    with client.stream("POST", "/api/chat", json={"question": QUESTION, "kbs": ["en", "zh"]}) as s:
        events = sse_events(s.read().decode())
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["citations", "done"]
    assert "token" in names
    text = "".join(json.loads(data)["text"] for name, data in events if name == "token")
    done = json.loads(events[-1][1])
    assert done["answer"] == text and done["citations"]
    assert json.loads(events[-2][1])["citations"] == done["citations"]


def test_multi_turn_conversation_and_feedback(client: TestClient) -> None:
    conversation = client.post("/api/conversations", json={"title": "IBM", "kbs": ["en"]}).json()
    cid = conversation["id"]
    for question in (QUESTION, "Where is its headquarters?"):
        client.post(
            "/api/chat",
            json={"question": question, "kbs": ["en"], "conversation_id": cid, "stream": False},
        )
    messages = client.get(f"/api/conversations/{cid}").json()["messages"]
    assert len(messages) == 4
    answer_id = messages[-1]["id"]
    url = f"/api/conversations/{cid}/messages/{answer_id}/feedback"
    assert client.put(url, json={"rating": "down", "reason": "too short"}).status_code == 204
    assert client.put(url, json={"rating": "up"}).status_code == 204
    feedback = client.get(f"/api/conversations/{cid}").json()["messages"][-1]["feedback"]
    assert feedback == {"rating": "up", "reason": ""}
    bad = f"/api/conversations/{cid}/messages/{messages[0]['id']}/feedback"
    assert client.put(bad, json={"rating": "up"}).status_code == 404  # a question, not an answer
    assert (
        client.patch(f"/api/conversations/{cid}", json={"title": "renamed"}).json()["title"]
        == "renamed"
    )
    assert any(c["id"] == cid for c in client.get("/api/conversations").json()["data"])
    assert client.delete(f"/api/conversations/{cid}").status_code == 204
    assert client.get(f"/api/conversations/{cid}").status_code == 404


def test_not_in_the_knowledge_base(client: TestClient) -> None:
    answer = client.post(
        "/api/chat",
        json={
            "question": "What is the airspeed of an unladen swallow?",
            "kbs": ["zh"],
            "stream": False,
        },
    ).json()
    assert answer["found"] is False and answer["citations"] == []


@pytest.mark.server
def test_a_client_leaving_mid_stream_does_not_break_the_server(
    tmp_path: Path, llm_server: LlamaCppServer
) -> None:
    """Real LLM (SmolLM2 on llama.cpp) streaming into a real uvicorn; the client hangs up."""
    llm = {
        "backend": "openai",
        "base_url": llm_server.base_url,
        "model": llm_server.model,
        "max_tokens": 256,
    }
    with (
        isolated_settings(tmp_path / "home", llm=llm) as settings,
        LiveServer(create_app(settings)) as live,
        live.client() as c,
    ):
        c.post("/api/kbs", json={"name": "en"})
        upload(c, "en", [doc(EN_DOC)])
        for _ in range(3):
            with c.stream("POST", "/api/chat", json={"question": QUESTION, "kbs": ["en"]}) as s:
                for line in s.iter_lines():
                    if line.startswith("event: token"):
                        break  # leave after the first token
        with httpx.Client(base_url=live.url, timeout=120) as fresh:
            answer = fresh.post(
                "/api/chat", json={"question": QUESTION, "kbs": ["en"], "stream": False}
            ).json()
            assert answer["model"] == llm_server.model and not answer["extractive"]
            assert fresh.get("/api/health").status_code == 200
