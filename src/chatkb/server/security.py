"""Browser-facing protections for the whole app: Host and Origin checks, security headers.

A page on another origin must neither change nor read anything, keys on or off:

* **Host allow-list** (DNS rebinding): a request whose ``Host`` names anything but the bind
  address, the loopback names or ``server.allowed_hosts`` is refused, so a hostile domain that
  re-resolves to 127.0.0.1 reaches nothing.
* **Origin check** (cross-site requests): a request carrying an ``Origin`` other than the
  server's own or one in ``server.cors_origins`` is refused before any route runs, whatever
  its method or content type (``text/plain`` and multipart POSTs need no CORS preflight, so
  CORS alone would let them through). Without ``Origin``, ``Sec-Fetch-Site`` tells a browser's
  cross-site subresource loads apart; only top-level navigations pass. A request with
  neither header is not from a browser (curl, the OpenAI and Chatchat clients) and passes.
* **Headers**: a Content-Security-Policy (the web UI loads nothing from elsewhere), nosniff,
  ``frame-ancestors 'none'``, no referrer.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatkb.settings import ServerSettings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
ANY = "*"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
# /docs and /redoc pages are FastAPI's own HTML with inline scripts: only framing is limited.
BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def allowed_hosts(settings: ServerSettings) -> frozenset[str]:
    """Host names this server answers to; ``*`` (any) for a wildcard bind without a list."""
    configured = {_normal_host(h) for h in settings.allowed_hosts}
    bind = _normal_host(settings.host)
    if bind in ("0.0.0.0", "::") and not configured:
        # Beyond loopback API keys are required, and a browser cannot send a bearer key a
        # hostile page does not know, so a rebinding attack finds nothing open to it.
        return frozenset({ANY})
    names = {*LOOPBACK_NAMES, *configured}
    if bind not in ("0.0.0.0", "::"):
        names.add(bind)
    return frozenset(names)


def csp_for_ui(static_dir: Path) -> str:
    """The UI's policy: its own files only, plus the hashes of index.html's inline scripts."""
    hashes = []
    index = static_dir / "index.html"
    if index.is_file():
        for body in _INLINE_SCRIPT.findall(index.read_text(encoding="utf-8")):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    scripts = " ".join(["'self'", *hashes])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; object-src 'self'; "
        "frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class BrowserGuard:
    """ASGI middleware: refuses foreign Host and Origin, adds security headers."""

    def __init__(self, app: ASGIApp, *, settings: ServerSettings, csp: str) -> None:
        self.app = app
        self.hosts = allowed_hosts(settings)
        self.origins = frozenset(o.rstrip("/").lower() for o in settings.cors_origins)
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.refusal(headers, scope.get("method", "GET"))
        if refusal is not None:
            await _refuse(scope, receive, send, refusal)
            return
        csp = self.csp  # /docs and /redoc set their own (api_docs.py), as file previews do

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS.items():
                    if name not in out:
                        out[name] = value
                if "content-security-policy" not in out:  # a route may set a stricter one
                    out["content-security-policy"] = csp
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def refusal(self, headers: Headers, method: str) -> str | None:
        """Why this request is refused, or None to let it through."""
        host = headers.get("host", "")
        if ANY not in self.hosts and _normal_host(_host_name(host)) not in self.hosts:
            return (
                f"unexpected Host header {host!r}: this server answers only to "
                f"{', '.join(sorted(self.hosts))} (add others to server.allowed_hosts)"
            )
        origin = headers.get("origin")
        if origin is not None:
            if self._origin_allowed(origin, host):
                return None
            return (
                f"cross-origin request from {origin!r} refused; allow trusted origins in "
                "server.cors_origins"
            )
        site = headers.get("sec-fetch-site")
        if site in (None, "same-origin", "none"):
            return None
        if method in ("GET", "HEAD") and headers.get("sec-fetch-mode") == "navigate":
            return None  # a link followed from elsewhere opens the page; it reads nothing
        return "cross-site request refused"

    def _origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/").lower()
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (sandboxed frames, file:) and other schemes
        return parts.netloc == host.lower()


def _host_name(host: str) -> str:
    """``Host`` without its port: ``[::1]:80`` → ``::1``, ``a:80`` → ``a``."""
    host = host.strip()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _normal_host(host: str) -> str:
    host = host.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


async def _refuse(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    from starlette.requests import Request

    from chatkb.server.errors import error_response

    response = error_response(Request(scope), 403, "forbidden", message)
    response.headers.update(BASE_HEADERS)
    await response(scope, receive, send)
