"""API keys with per-knowledge-base access, the loopback rule, CORS, and MCP behind keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import openai
import pytest
from fastapi.testclient import TestClient
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from _server import LiveServer, isolated_settings
from chatkb.errors import ConfigError
from chatkb.server import create_app

ADMIN, WRITER, READER = "admin-key-0123456789", "writer-key-0123456789", "reader-key-0123456789"
KEYS = [
    {"name": "ops", "key": ADMIN, "access": {"*": "admin"}},
    {"name": "hr-team", "key": WRITER, "access": {"hr": "write", "it": "read"}},
    {"name": "viewer", "key": READER},  # default: read everything
]
SERVER = {"api_keys": KEYS, "cors_origins": ["http://intranet.example"]}


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with (
        isolated_settings(tmp_path / "home", server=SERVER) as settings,
        TestClient(create_app(settings)) as c,
    ):
        for name in ("hr", "it"):
            assert c.post("/api/kbs", json={"name": name}, headers=_as(ADMIN)).status_code == 201
        yield c


def test_keys_are_required_except_for_health(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    missing = client.get("/api/kbs")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "unauthorized"
    assert client.get("/api/kbs", headers=_as("wrong-key-0123456789")).status_code == 401
    assert client.get("/api/kbs", headers={"Authorization": ADMIN}).status_code == 401  # no scheme
    chatchat = client.get("/knowledge_base/list_knowledge_bases")
    assert chatchat.status_code == 401 and chatchat.json()["code"] == 401


def test_access_levels_per_knowledge_base(client: TestClient) -> None:
    listed = client.get("/api/kbs", headers=_as(WRITER)).json()
    assert [kb["name"] for kb in listed["data"]] == ["hr", "it"]
    upload = [("files", ("a.txt", b"Vacation days are 25 for new employees."))]
    assert (
        client.post("/api/kbs/hr/documents", files=upload, headers=_as(WRITER)).status_code == 202
    )
    refused = client.post("/api/kbs/it/documents", files=upload, headers=_as(WRITER))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (
        client.patch("/api/kbs/it", json={"description": "x"}, headers=_as(READER)).status_code
        == 403
    )
    assert client.delete("/api/kbs/hr", headers=_as(WRITER)).status_code == 403
    assert client.post("/api/kbs", json={"name": "new"}, headers=_as(WRITER)).status_code == 403
    search = {"query": "vacation", "kbs": ["hr", "it"]}
    assert client.post("/api/search", json=search, headers=_as(READER)).status_code == 200
    assert client.delete("/api/kbs/it", headers=_as(ADMIN)).status_code == 204


def test_conversations_belong_to_their_key(client: TestClient) -> None:
    created = client.post("/api/conversations", json={"title": "mine"}, headers=_as(WRITER)).json()
    assert client.get(f"/api/conversations/{created['id']}", headers=_as(READER)).status_code == 404
    assert client.get("/api/conversations", headers=_as(READER)).json()["count"] == 0
    assert client.get("/api/conversations", headers=_as(WRITER)).json()["count"] == 1


def test_cors_allows_configured_origins_only(client: TestClient) -> None:
    preflight = {"Origin": "http://intranet.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}  # fmt: skip
    allowed = client.options("/api/search", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "http://intranet.example"
    other = client.options("/api/search", headers={**preflight, "Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_binding_beyond_loopback_needs_keys(tmp_path: Path) -> None:
    with (
        isolated_settings(tmp_path / "home", server={"host": "0.0.0.0"}) as settings,
        pytest.raises(ConfigError, match="API keys"),
    ):
        create_app(settings)
    with isolated_settings(
        tmp_path / "home", server={"host": "0.0.0.0", "api_keys": KEYS}
    ) as settings:
        create_app(settings)
    with isolated_settings(tmp_path / "home", server={"host": "::1"}) as settings:
        create_app(settings)


def test_serve_command_refuses_a_public_host_without_keys(cli: Any) -> None:
    result = cli("serve", "--host", "0.0.0.0", code=1)
    assert "refusing to listen on 0.0.0.0 without API keys" in result.output


@pytest.mark.server
def test_openai_client_and_mcp_use_the_same_keys(tmp_path: Path) -> None:
    with (
        isolated_settings(tmp_path / "home", server=SERVER) as settings,
        LiveServer(create_app(settings)) as live,
    ):
        with live.client(headers=_as(ADMIN)) as admin:
            admin.post("/api/kbs", json={"name": "hr"})
            admin.post("/api/kbs", json={"name": "secret"})
        with openai.OpenAI(base_url=live.url + "/v1", api_key=WRITER, max_retries=0) as scoped:
            assert [m.id for m in scoped.models.list()] == ["kb:hr"]
        with (
            openai.OpenAI(base_url=live.url + "/v1", api_key="nope", max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError),
        ):
            wrong.models.list()

        async def tools(key: str) -> Any:
            async with (
                httpx2.AsyncClient(headers=_as(key), timeout=60) as http,
                streamable_http_client(f"{live.url}/mcp", http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                listed = await session.call_tool("list_knowledge_bases", {})
                denied = await session.call_tool(
                    "search", {"query": "x", "knowledge_bases": ["secret"]}
                )
                return listed.structured_content, denied

        listed, denied = anyio.run(tools, WRITER)
        assert [kb["name"] for kb in listed["knowledge_bases"]] == ["hr"]
        assert denied.is_error and "no read access" in str(denied.content)
        with httpx2.Client() as plain:
            refused = plain.post(
                f"{live.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}
            )
        assert refused.status_code == 401
