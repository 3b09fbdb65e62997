"""Host and Origin checks, CORS and security headers: what a browser page on another origin
(or a rebound DNS name) can do to the server — nothing, keys on or off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _server import isolated_settings
from chatkb.server import create_app

KEY = "admin-key-0123456789"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with (
        isolated_settings(tmp_path / "home") as settings,
        TestClient(create_app(settings)) as c,
    ):
        assert c.post("/api/kbs", json={"name": "hr"}).status_code == 201
        yield c


def _names(client: TestClient) -> list[str]:
    return [kb["name"] for kb in client.get("/api/kbs").json()["data"]]


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:7861", "10.0.0.5"])
def test_foreign_host_names_are_refused_everywhere(client: TestClient, host: str) -> None:
    for path in ("/api/kbs", "/knowledge_base/list_knowledge_bases", "/v1/models", "/", "/mcp"):
        refused = client.get(path, headers={"Host": host})
        assert refused.status_code == 403, path
        assert "hr" not in refused.text and "Host" in refused.text


@pytest.mark.parametrize("host", ["127.0.0.1:7861", "localhost", "LOCALHOST:1", "[::1]:7861"])
def test_loopback_host_names_are_served(client: TestClient, host: str) -> None:
    assert client.get("/api/kbs", headers={"Host": host}).status_code == 200


def test_configured_host_names_are_served(tmp_path: Path) -> None:
    server = {"allowed_hosts": ["kb.intranet.example"]}
    with (
        isolated_settings(tmp_path / "home", server=server) as settings,
        TestClient(create_app(settings)) as c,
    ):
        assert c.get("/api/kbs", headers={"Host": "kb.intranet.example:80"}).status_code == 200
        assert c.get("/api/kbs", headers={"Host": "other.example"}).status_code == 403


def test_wildcard_bind_with_keys_serves_any_host(tmp_path: Path) -> None:
    server = {"host": "0.0.0.0", "api_keys": [{"key": KEY}]}
    with (
        isolated_settings(tmp_path / "home", server=server) as settings,
        TestClient(create_app(settings)) as c,
    ):
        auth = {"Authorization": f"Bearer {KEY}", "Host": "kb.example"}
        assert c.get("/api/kbs", headers=auth).status_code == 200
        assert (
            c.get("/api/kbs", headers={**auth, "Origin": "http://evil.example"}).status_code == 403
        )


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:9999", "null", "http://localhost"]
)
def test_cross_origin_writes_are_refused_before_any_route(client: TestClient, origin: str) -> None:
    plain = {"Origin": origin, "Content-Type": "text/plain"}
    refused = client.post("/knowledge_base/delete_knowledge_base", content='"hr"', headers=plain)
    assert refused.status_code == 403 and refused.json()["code"] == 403
    upload = client.post(
        "/api/kbs/hr/documents",
        files=[("files", ("a.txt", b"injected"))],
        headers={"Origin": origin},
    )
    assert upload.status_code == 403
    assert client.delete("/api/kbs/hr", headers={"Origin": origin}).status_code == 403
    read = client.get("/api/kbs", headers={"Origin": origin})
    assert read.status_code == 403 and "access-control-allow-origin" not in read.headers
    assert _names(client) == ["hr"]
    assert client.get("/api/kbs/hr/documents").json()["count"] == 0


def test_same_origin_and_non_browser_clients_pass(client: TestClient) -> None:
    same = {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/kbs", json={"name": "it"}, headers=same).status_code == 201
    assert client.post("/api/kbs", json={"name": "ops"}).status_code == 201  # no Origin
    assert _names(client) == ["hr", "it", "ops"]


def test_cross_site_subresource_loads_are_refused(client: TestClient) -> None:
    script = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    assert client.get("/api/kbs", headers=script).status_code == 403
    same_site = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}
    assert client.get("/api/kbs", headers=same_site).status_code == 403
    link = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert client.get("/", headers=link).status_code == 200  # following a link opens the UI
    form = {**link, "Content-Type": "text/plain"}
    assert client.post("/api/kbs", content="x", headers=form).status_code == 403


def test_security_headers(client: TestClient) -> None:
    for path in ("/", "/api/kbs", "/api/nothing-here"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
    csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "default-src 'self'" in csp
    assert "http:" not in csp and "https:" not in csp


def test_uploaded_originals_cannot_run_script_in_the_app_origin(client: TestClient) -> None:
    page = b"<html><script>fetch('/api/kbs', {method: 'DELETE'})</script></html>"
    files = [("files", ("evil.html", page)), ("files", ("evil.svg", b"<svg onload=alert(1)/>"))]
    assert client.post("/api/kbs/hr/documents", files=files, data={"index": "false"}).is_success
    for name in ("evil.html", "evil.svg"):
        served = client.get(f"/api/kbs/hr/documents/{name}/file")
        assert served.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in served.headers["content-security-policy"]
        assert served.headers["x-content-type-options"] == "nosniff"


def test_not_found_errors_list_no_other_names(client: TestClient) -> None:
    missing = client.get("/api/kbs/nope")
    assert missing.status_code == 404 and "hr" not in missing.json()["error"]["message"]
    files = [("files", ("a.txt", b"Vacation days are 25."))]
    temp = client.post("/knowledge_base/upload_temp_docs", files=files).json()["data"]["id"]
    for body in (
        {"query": "x", "knowledge_id": "0" * 32},
        {"query": "x", "knowledge_id": "../kb/hr"},
    ):
        refused = client.post("/chat/file_chat", json=body)
        assert refused.status_code == 404 and temp not in refused.text
    chat = {"query": "x", "mode": "temp_kb", "kb_name": "nope", "stream": False}
    refused = client.post("/chat/kb_chat", json=chat)
    assert refused.status_code == 404 and temp not in refused.text
