"""One JSON error shape for every failure, with the status the error class knows.

``{"error": {"code", "message"}}`` everywhere, except on the Langchain-Chatchat routes, whose
clients read ``{"code", "msg", "data"}``. No response ever carries a stack trace: unexpected
exceptions are logged here and answered with a short generic message.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatkb.errors import ChatkbError

log = logging.getLogger(__name__)

CHATCHAT_PREFIXES = ("/knowledge_base/", "/chat/", "/llm_model/", "/server/", "/other/", "/tools")


def error_response(request: Request, status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if request.url.path.startswith(CHATCHAT_PREFIXES):
        body: dict[str, object] = {"code": status, "msg": message, "data": None}
    else:
        body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _chatkb_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChatkbError)
    return error_response(request, exc.status_code, exc.code, exc.message)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
        for err in exc.errors()
    )
    return error_response(request, 422, "invalid_input", f"invalid request: {problems}")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    try:
        code = HTTPStatus(status).phrase.lower().replace(" ", "_")
    except ValueError:
        code = "error"
    response = error_response(request, status, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = f"internal error ({type(exc).__name__}); the server log has the details"
    return error_response(request, 500, "internal_error", message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ChatkbError, _chatkb_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
