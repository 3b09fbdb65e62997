"""``/docs`` and ``/redoc`` in the real Chromium with every address but the server's blocked:
Swagger UI and ReDoc come from files installed with chatkb, run under the pages' own
Content-Security-Policy, and render the API's operations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from _server import LiveServer, isolated_settings
from chatkb.server.api_docs import CSP
from chatkb.server.app import create_app

pytestmark = pytest.mark.server

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path(os.environ.get("CHATKB_CHROMIUM", "/usr/bin/chromium"))
# Every name resolves to nothing and every connection goes to a dead proxy, loopback aside:
# an asset fetched from anywhere else fails, as it would on an offline machine.
OFFLINE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@contextmanager
def offline_chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium (or set CHATKB_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=OFFLINE_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("docs-home")
    with isolated_settings(home) as settings, LiveServer(create_app(settings)) as server:
        httpx.post(f"{server.url}/api/kbs", json={"name": "manuals"}).raise_for_status()
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with offline_chromium() as launched:
        yield launched


class Watch:
    """What a page asked for outside the server, and what its console complained about."""

    def __init__(self, page: Any, server_url: str) -> None:
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self._request(r.url, server_url))
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _request(self, url: str, server_url: str) -> None:
        if not url.startswith((server_url, "data:", "blob:")):
            self.outside.append(url)


def test_offline_swagger_ui_lists_and_runs_operations(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    watch = Watch(page, live.url)
    response = page.goto(f"{live.url}/docs")
    assert response.headers["content-security-policy"] == CSP
    operations = page.locator(".opblock")
    sync_api.expect(operations.first).to_be_visible(timeout=30_000)
    assert operations.count() > 40
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    for path in ("/v1/chat/completions", "/knowledge_base/list_knowledge_bases", "/api/kbs"):
        assert any(p.replace("\u200b", "") == path for p in paths), path
    # "Try it out" goes through connect-src 'self': a real call, a real answer.
    block = page.locator(
        "#operations-knowledge_base-list_knowledge_bases_knowledge_base_list_knowledge_bases_get"
    )
    if block.count() == 0:
        block = page.locator(".opblock", has_text="/knowledge_base/list_knowledge_bases").first
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    body = block.locator(".response-col_description .microlight").first
    sync_api.expect(body).to_contain_text("manuals", timeout=30_000)
    assert watch.outside == [] and watch.errors == []


def test_offline_redoc_renders_operations(browser: Any, live: LiveServer) -> None:
    page = browser.new_page()
    watch = Watch(page, live.url)
    response = page.goto(f"{live.url}/redoc")
    assert response.headers["content-security-policy"] == CSP
    sections = page.locator("[data-section-id^='operation/']")
    sync_api.expect(sections.first).to_be_attached(timeout=60_000)
    assert sections.count() > 40
    sync_api.expect(page.get_by_text("/v1/chat/completions").first).to_be_attached()
    # ReDoc 2 always asks for its "API docs by Redocly" logo from its CDN; the page's policy
    # (img-src 'self' data:) refuses it, and ReDoc hides the image when it fails.
    assert watch.outside == [REDOC_LOGO] and watch.failed == [REDOC_LOGO]
    assert all(REDOC_LOGO in error for error in watch.errors), watch.errors


def test_assets_are_served_from_the_package(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url) as client:
        html = client.get("/docs").text
        assert "<script>" not in html and "cdn" not in html.lower()
        for asset in (
            "/api-docs-assets/vendor/swagger-ui-bundle.js",
            "/api-docs-assets/vendor/swagger-ui.css",
            "/api-docs-assets/vendor/redoc.standalone.js",
            "/api-docs-assets/swagger-init.js",
        ):
            assert client.get(asset).status_code == 200, asset
        assert "<script>" not in client.get("/redoc").text
