"""``Annotated`` dependency aliases shared by every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chatkb.server.auth import Principal
from chatkb.server.state import ServerState

_bearer = HTTPBearer(auto_error=False, description="an API key from [server] api_keys")


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.chatkb
    return state


def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    del credentials  # declared for the OpenAPI security scheme; the header is read below
    return get_state(request).keys.authenticate(request.headers.get("authorization"))


StateDep = Annotated[ServerState, Depends(get_state)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
