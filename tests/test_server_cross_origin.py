"""Real Chromium: a hostile page on another loopback origin (its own tiny HTTP server), and
one on a DNS name rebound to the server's address, try to read and change a chatkb server
with keys off and on. Nothing they send reads data or changes state."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from _server import LiveServer, isolated_settings
from chatkb.server import create_app

pytestmark = pytest.mark.server
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path(os.environ.get("CHATKB_CHROMIUM", "/usr/bin/chromium"))
KEY = "admin-key-0123456789"
REBOUND = "rebound.test"

# Each attack reports what it could read; a refused or opaque response reads as "".
ATTACKS = """async ({ target, key }) => {
  const auth = key ? { Authorization: `Bearer ${key}` } : {};
  const out = {};
  const attempt = async (name, run) => {
    try { out[name] = await run(); } catch (e) { out[name] = ""; }
  };
  const text = async (r) => (r.type === "opaque" || !r.ok ? "" : await r.text());
  await attempt("read_kbs", async () => text(await fetch(`${target}/api/kbs`, { headers: auth })));
  await attempt("read_chatchat", async () =>
    text(await fetch(`${target}/knowledge_base/list_knowledge_bases`)));
  await attempt("plain_delete", async () => text(await fetch(
    `${target}/knowledge_base/delete_knowledge_base`,
    { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" },
      body: JSON.stringify("hr") })));
  await attempt("multipart_upload", async () => {
    const form = new FormData();
    form.append("files", new Blob(["Injected text about vacation."]), "injected.txt");
    return text(await fetch(`${target}/api/kbs/hr/documents`,
      { method: "POST", mode: "no-cors", body: form }));
  });
  await attempt("json_create", async () => text(await fetch(`${target}/api/kbs`, {
    method: "POST", headers: { "Content-Type": "application/json", ...auth },
    body: JSON.stringify({ name: "planted" }) })));
  await attempt("api_delete", async () => text(await fetch(`${target}/api/kbs/hr`,
    { method: "DELETE", headers: auth })));
  return out;
}"""

FORM = """async ({ target }) => {
  const frame = document.createElement("iframe");
  frame.name = "sink";
  document.body.append(frame);
  const form = document.createElement("form");
  form.method = "POST";
  form.enctype = "text/plain";
  form.target = "sink";
  form.action = `${target}/knowledge_base/delete_knowledge_base`;
  const field = document.createElement("input");
  field.name = '{"knowledge_base_name":"hr","x":"';
  field.value = '"}';
  form.append(field);
  document.body.append(form);
  const loaded = new Promise((done) => frame.addEventListener("load", done));
  form.submit();
  await Promise.race([loaded, new Promise((done) => setTimeout(done, 5000))]);
  return "submitted";
}"""


class _HostilePage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>hostile</title><body>hello</body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def hostile_site() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostilePage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium (or set CHATKB_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # The rebound name resolves to the server's address, as after a rebinding attack.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def _state(live: LiveServer, key: str | None) -> tuple[list[str], int]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as plain:
        names = [kb["name"] for kb in plain.get("/api/kbs").json()["data"]]
        documents = plain.get("/api/kbs/hr/documents").json()["count"]
    return names, documents


@pytest.mark.parametrize("keys", ["off", "on"])
def test_hostile_pages_can_neither_read_nor_change_anything(tmp_path: Path, keys: str) -> None:
    key = KEY if keys == "on" else None
    server = {"api_keys": [{"name": "ops", "key": KEY, "access": {"*": "admin"}}]} if key else {}
    with (
        isolated_settings(tmp_path / "home", server=server) as settings,
        LiveServer(create_app(settings)) as live,
        hostile_site() as port,
        chromium() as browser,
    ):
        headers = {"Authorization": f"Bearer {KEY}"} if key else {}
        httpx.post(f"{live.url}/api/kbs", json={"name": "hr"}, headers=headers).raise_for_status()
        page = browser.new_context().new_page()
        origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        for origin in origins:
            page.goto(f"{origin}/")
            # A page that somehow knows the key gains nothing from another origin either.
            for sent in {None, key}:
                read = page.evaluate(ATTACKS, {"target": live.url, "key": sent})
                assert read == dict.fromkeys(read, ""), (origin, read)
            page.evaluate(FORM, {"target": live.url})
            assert _state(live, key) == (["hr"], 0), origin

        # DNS rebinding: the hostile page's own name now points at the server, so its
        # requests are same-origin to the browser; the Host header gives it away.
        rebound = f"http://{REBOUND}:{live.port}"
        page.route(
            f"{rebound}/",
            lambda route: route.fulfill(status=200, content_type="text/html", body="<p>hi</p>"),
        )
        page.goto(f"{rebound}/")
        read = page.evaluate(ATTACKS, {"target": rebound, "key": key})
        assert read == dict.fromkeys(read, ""), read
        page.evaluate(FORM, {"target": rebound})
        assert _state(live, key) == (["hr"], 0)

        # The server's own page still works in the same browser.
        own = page.context.new_page()
        own.goto(f"{live.url}/")
        same = own.evaluate(
            "async (auth) => (await fetch('/api/kbs', { headers: auth })).status", headers
        )
        assert same == 200
