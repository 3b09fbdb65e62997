"""``create_app(settings)``: one FastAPI app with the REST API (``/api``), the OpenAI-compatible
``/v1``, Langchain-Chatchat routes, MCP at ``/mcp`` and, when present, the web UI at ``/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from chatkb import __version__
from chatkb.errors import ChatkbError
from chatkb.server.api_docs import install_api_docs
from chatkb.server.auth import KeyRing, check_bind
from chatkb.server.errors import install_error_handlers
from chatkb.server.limits import BodyLimit
from chatkb.server.mcp import build_mcp
from chatkb.server.routes import (
    chat,
    chatchat_chat,
    chatchat_kb,
    chatchat_misc,
    chatchat_v02,
    chunks,
    conversations,
    documents,
    jobs,
    kbs,
    models,
    openai,
    search,
    system,
)
from chatkb.server.security import BrowserGuard, csp_for_ui
from chatkb.server.state import ServerState
from chatkb.server.streaming import in_thread
from chatkb.server.webui import WebUI
from chatkb.settings import Settings
from chatkb.tokenize import preload as preload_tokenizer

WEB_STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
ROUTERS = (system, models, kbs, documents, jobs, chunks, search, chat, conversations, openai)
CHATCHAT_ROUTERS = (chatchat_kb, chatchat_chat, chatchat_v02, chatchat_misc)
DESCRIPTION = (
    "Knowledge bases, documents, search and cited answers. Errors are "
    '`{"error": {"code", "message"}}` with the matching HTTP status; see docs/api.md.'
)


def create_app(settings: Settings) -> FastAPI:
    """The whole server for ``settings``; refuses a non-loopback host without API keys."""
    check_bind(settings.server)
    state = ServerState(settings)
    mcp_server = build_mcp(state)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A session manager runs once; each start of the app (tests start it often) gets one.
        mcp_server.streamable_http_app(
            streamable_http_path="/mcp",
            stateless_http=True,
            # BrowserGuard checks Host and Origin for the whole app, /mcp included.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            host=settings.server.host,
        )
        preload_tokenizer()  # the first Chinese search does not pay for jieba's dictionary
        state.open()
        async with mcp_server.session_manager.run():
            try:
                yield
            finally:
                await in_thread(state.close)

    app = FastAPI(
        title="chatkb",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from installed assets instead of a CDN: api_docs.py
        redoc_url=None,
    )
    app.state.chatkb = state
    install_error_handlers(app)
    for module in (*ROUTERS, *CHATCHAT_ROUTERS):
        app.include_router(module.router)
    mcp_endpoint = _McpEndpoint(mcp_server, state.keys)
    app.router.routes.append(Route("/mcp", endpoint=mcp_endpoint))
    app.router.routes.append(Route("/mcp/", endpoint=mcp_endpoint))
    install_api_docs(app)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=False,  # bearer keys only: no cookies to ride along
        )
    app.add_middleware(BodyLimit, max_bytes=settings.server.max_body_mb * 2**20)
    # Outermost, so foreign Host and Origin are refused before anything else runs.
    app.add_middleware(BrowserGuard, settings=settings.server, csp=csp_for_ui(WEB_STATIC))
    if WEB_STATIC.is_dir():  # mounted last: API routes take precedence over UI files
        app.mount("/", WebUI(WEB_STATIC, app.router.routes), name="web")
    return app


class _McpEndpoint:
    """Checks the bearer token, then hands the request to the running MCP transport."""

    def __init__(self, server: MCPServer[Any], keys: KeyRing) -> None:
        self.server = server
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        authorization = headers.get(b"authorization", b"").decode("latin-1") or None
        try:
            self.keys.authenticate(authorization)
        except ChatkbError as exc:
            from starlette.requests import Request

            from chatkb.server.errors import error_response

            response = error_response(Request(scope), exc.status_code, exc.code, exc.message)
            await response(scope, receive, send)
            return
        await StreamableHTTPASGIApp(self.server.session_manager)(scope, receive, send)
