"""The web UI's files at ``/``, mounted after every API route, answering what no route and no
file matches with chatkb's JSON 404 (or 405 when a route has the path but not the method),
instead of the plain 405 a bare ``StaticFiles`` gives any POST."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send


class WebUI:
    def __init__(self, directory: Path, routes: list[BaseRoute]) -> None:
        self.files = StaticFiles(directory=directory, html=True)
        self.routes = routes  # the app's own list: routes added later are seen too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            try:
                await self.files(scope, receive, send)
            except HTTPException as exc:
                if exc.status_code != 404:
                    raise
                raise HTTPException(404, f"no route or file {scope['path']}") from None
            return
        full_scope = {**scope, "path": scope.get("root_path", "") + scope["path"]}
        if any(self._partial(route, full_scope) for route in self.routes):
            raise HTTPException(405, f"method {scope['method']} not allowed here")
        raise HTTPException(404, f"no route {scope['method']} {full_scope['path']}")

    @staticmethod
    def _partial(route: BaseRoute, scope: Scope) -> bool:
        match, _ = route.matches(scope)
        return match == Match.PARTIAL
