"""The Model Context Protocol server: tools ``list_knowledge_bases``, ``search`` and ``ask``.

Served over stdio by ``chatkb mcp`` and over streamable HTTP at ``/mcp`` by ``chatkb serve``.
Over HTTP the caller's API key decides which knowledge bases the tools may read; over stdio
the caller is the local user, who may read everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from chatkb import __version__
from chatkb.errors import ChatkbError, NotFoundError
from chatkb.kb import KnowledgeBase
from chatkb.options import AskOptions
from chatkb.server.answers import citations_json, find, start_answer
from chatkb.server.auth import LOCAL, Principal
from chatkb.server.state import ServerState

T = TypeVar("T")
INSTRUCTIONS = (
    "chatkb answers questions from private knowledge bases with cited sources. Call "
    "list_knowledge_bases first, then search (passages only) or ask (an answer with citations). "
    "Scores are higher-is-better on 0..1."
)


def build_mcp(state: ServerState) -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer(
        "chatkb", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )

    def caller(ctx: Context) -> Principal:
        headers = ctx.headers
        if headers is None:  # stdio: the local user
            return LOCAL
        return state.keys.authenticate(headers.get("authorization"))

    @server.tool()
    def list_knowledge_bases(ctx: Context) -> dict[str, Any]:
        """The knowledge bases you may read, with descriptions and sizes."""
        keys = ("name", "description", "documents", "chunks", "embedder")

        def listing() -> list[dict[str, object]]:
            infos = [state.library.open(n).info() for n in state.readable_names(caller(ctx))]
            return [{k: info[k] for k in keys} for info in infos]

        return {"knowledge_bases": _reported(listing)}

    @server.tool()
    def search(
        query: str,
        ctx: Context,
        knowledge_bases: list[str] | None = None,
        top_k: int = 5,
        score_threshold: float | None = None,
    ) -> dict[str, Any]:
        """Find the passages that best match a query (hybrid vector + keyword search), in the
        knowledge bases named, or in every one you may read. ``score_threshold`` (0..1) drops
        passages scoring below it."""
        options = AskOptions(top_k=_clamp(top_k, 1, 50), score_threshold=score_threshold)

        def hits() -> list[dict[str, object]]:
            kbs = readable(knowledge_bases, caller(ctx))
            return [h.to_json() for h in find(state, kbs, query, options)]

        return {"hits": _reported(hits)}

    @server.tool()
    def ask(
        question: str,
        ctx: Context,
        knowledge_bases: list[str] | None = None,
        top_k: int | None = None,
        min_relevance: float | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """Answer a question from the knowledge bases (default: every one you may read); [n]
        in the answer cites citations[n-1], each with its kb and url. ``min_relevance`` (0..1)
        is the "not in the knowledge base" cut (0: answer from whatever was found);
        ``grounded`` is false when the answer cites nothing."""
        options = AskOptions(
            top_k=None if top_k is None else _clamp(top_k, 1, 50),
            min_relevance=None if min_relevance is None else min(max(min_relevance, 0.0), 1.0),
            temperature=temperature,
            max_tokens=max_tokens,
        )

        def answer() -> dict[str, Any]:
            kbs = readable(knowledge_bases, caller(ctx))
            stream = start_answer(state, kbs, question, options=options)
            result = stream.result()
            return {**result.to_json(), "citations": citations_json(result, stream, kbs)}

        return _reported(answer)

    def readable(names: list[str] | None, principal: Principal) -> list[KnowledgeBase]:
        names = names or state.readable_names(principal)
        if not names:
            raise NotFoundError("no knowledge base to search: create one first")
        return state.open_kbs(names, principal)

    return server


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def _reported(work: Callable[[], T]) -> T:
    """chatkb errors reach the MCP client as tool errors with their message."""
    try:
        return work()
    except ChatkbError as exc:
        raise ToolError(exc.message) from None
