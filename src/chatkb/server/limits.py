"""A cap on request body size, checked before the body is parsed (Content-Length) and while
it streams in (chunked uploads), so a huge request never fills memory or disk."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatkb.errors import PayloadTooLargeError
from chatkb.server.errors import CHATCHAT_PREFIXES


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise PayloadTooLargeError(self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return (
            f"request body larger than {self.max_bytes // 2**20} MB (server.max_body_mb); "
            "send fewer or smaller files per request"
        )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if str(scope.get("path", "")).startswith(CHATCHAT_PREFIXES):
            payload: dict[str, object] = {"code": 413, "msg": self._message(), "data": None}
        else:
            payload = {"error": {"code": "payload_too_large", "message": self._message()}}
        body = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
