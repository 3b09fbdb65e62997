"""The MCP tools through real MCP client sessions: ``chatkb mcp`` over stdio (a subprocess)
and streamable HTTP at ``/mcp`` of a real uvicorn."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from _datasets import doc
from _server import EN_DOC, LiveServer, isolated_settings, upload
from chatkb.server import create_app

pytestmark = pytest.mark.server
QUESTION = "In which year was IBM founded as the Computing-Tabulating-Recording Company?"
TOOLS = ["ask", "list_knowledge_bases", "search"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("mcp") / "home"
    with isolated_settings(home) as settings, LiveServer(create_app(settings)) as server:
        with server.client() as c:
            c.post("/api/kbs", json={"name": "en", "description": "IBM history"})
            upload(c, "en", [doc(EN_DOC)])
        server.home = home  # type: ignore[attr-defined]
        yield server


async def _exercise(session: ClientSession) -> dict[str, Any]:
    await session.initialize()
    tools = sorted(t.name for t in (await session.list_tools()).tools)
    listed = await session.call_tool("list_knowledge_bases", {})
    found = await session.call_tool(
        "search", {"query": QUESTION, "knowledge_bases": ["en"], "top_k": 2}
    )
    answered = await session.call_tool("ask", {"question": QUESTION, "knowledge_bases": ["en"]})
    missing = await session.call_tool("search", {"query": "x", "knowledge_bases": ["nope"]})
    return {
        "tools": tools,
        "listed": listed,
        "found": found,
        "answered": answered,
        "missing": missing,
    }


def _check(results: dict[str, Any]) -> None:
    assert results["tools"] == TOOLS
    kbs = results["listed"].structured_content["knowledge_bases"]
    assert [(kb["name"], kb["description"]) for kb in kbs] == [("en", "IBM history")]
    hits = results["found"].structured_content["hits"]
    assert len(hits) == 2 and hits[0]["source"] == EN_DOC and "1911" in hits[0]["text"]
    answer = results["answered"].structured_content
    assert "1911" in answer["answer"] and answer["citations"][0]["source"] == EN_DOC
    assert results["missing"].is_error and "no knowledge base named 'nope'" in str(
        results["missing"].content
    )


def test_stdio_session_with_the_chatkb_mcp_command(live: LiveServer) -> None:
    env = {"CHATKB_HOME": str(live.home), "CHATKB_EMBEDDER__THREADS": "1"}  # type: ignore[attr-defined]
    params = StdioServerParameters(
        command=str(Path(sys.executable).with_name("chatkb")), args=["mcp"], env=env
    )

    async def main() -> dict[str, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return await _exercise(session)

    _check(anyio.run(main))


def test_streamable_http_session_at_mcp(live: LiveServer) -> None:
    async def main() -> dict[str, Any]:
        async with (
            httpx2.AsyncClient(timeout=120) as http,
            streamable_http_client(f"{live.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            return await _exercise(session)

    _check(anyio.run(main))
