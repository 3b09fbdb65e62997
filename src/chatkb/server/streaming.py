"""Server-sent events, and blocking iterators (LLM streams) consumed without blocking the loop.

A client that disconnects mid-stream cancels the response task; the piece being produced in
its worker thread is allowed to finish, then the iterator is closed (which closes the HTTP
stream to the LLM server), so nothing leaks and the server carries on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
from fastapi.responses import StreamingResponse

from chatkb.errors import ChatkbError

T = TypeVar("T")
log = logging.getLogger(__name__)
_END = object()
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(data: object, event: str | None = None) -> str:
    """One SSE message; ``data`` is JSON-encoded unless it is already a string."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


async def in_thread(
    function: Callable[..., T], *args: Any, limiter: anyio.CapacityLimiter | None = None
) -> T:
    """``function(*args)`` in a worker thread; with ``limiter``, in one of its threads (it
    waits its turn, first come first served, without holding a thread meanwhile)."""
    return await anyio.to_thread.run_sync(function, *args, limiter=limiter)


async def iterate_in_thread(iterator: Iterator[T]) -> AsyncIterator[T]:
    """Yield from a blocking iterator, one ``next`` per worker-thread hop."""
    try:
        while True:
            item = await anyio.to_thread.run_sync(next, iterator, _END)
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_close_quietly, close)


def _close_quietly(close: Callable[[], object]) -> None:
    try:
        close()
    except Exception:  # closing after a disconnect must never take the server down
        log.debug("error while closing a stream", exc_info=True)


def error_event(exc: Exception) -> dict[str, object]:
    """The ``{"error": …}`` payload for a failure after the stream has started."""
    if isinstance(exc, ChatkbError):
        return {"error": {"code": exc.code, "message": exc.message}}
    log.error("error while streaming", exc_info=exc)
    message = f"internal error ({type(exc).__name__}); the server log has the details"
    return {"error": {"code": "internal_error", "message": message}}
