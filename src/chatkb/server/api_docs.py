"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from files installed with chatkb.

FastAPI's own pages load both from a CDN, blank on the offline machines chatkb is for. The
assets come from the ``fastapi-offline`` package (Swagger UI 5 and ReDoc 2, kept current by
its maintainer); the pages are ours, with no inline script: Swagger UI is started by
``docs_static/swagger-init.js`` and ReDoc starts itself on its ``<redoc spec-url>`` element,
so both run under a policy that allows scripts from 'self' only.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/api-docs-assets"
VENDOR_DIR = Path(str(files("fastapi_offline") / "static"))
OWN_DIR = Path(__file__).parent / "docs_static"
# Styles stay 'unsafe-inline': both UIs set style attributes and inject <style> elements.
# ReDoc's search runs in a worker it makes from a blob: URL.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="icon" href="{assets}/vendor/favicon.png">
<link rel="stylesheet" href="{assets}/vendor/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/vendor/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js"></script>
</body></html>
"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} - ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{assets}/vendor/favicon.png">
</head><body>
<redoc spec-url="{openapi}"></redoc>
<script src="{assets}/vendor/redoc.standalone.js"></script>
</body></html>
"""


def install_api_docs(app: FastAPI) -> None:
    """Serve the two pages and their assets; the app must be made with ``docs_url=None`` and
    ``redoc_url=None``."""
    app.mount(f"{ASSETS}/vendor", StaticFiles(directory=VENDOR_DIR), name="api-docs-vendor")
    app.mount(ASSETS, StaticFiles(directory=OWN_DIR), name="api-docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger(request: Request) -> HTMLResponse:
        return _page(_SWAGGER, request, app.title, openapi_url)

    async def redoc(request: Request) -> HTMLResponse:
        return _page(_REDOC, request, app.title, openapi_url)

    app.add_api_route("/docs", swagger, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)


def _page(template: str, request: Request, title: str, openapi_url: str) -> HTMLResponse:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    html = template.format(
        title=escape(title),
        assets=escape(root + ASSETS),
        openapi=escape(root + openapi_url),
    )
    return HTMLResponse(html, headers={"content-security-policy": CSP})
