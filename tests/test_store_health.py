"""Each configured store's reachability in ``/api/health`` and ``chatkb doctor``, against a
real PostgreSQL with pgvector and a port on loopback where nothing listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _server import isolated_settings
from _store_servers import pg_dsn  # noqa: F401  (session fixture)
from chatkb.kb import Library
from chatkb.server import create_app
from chatkb.settings import load_settings
from chatkb.store.health import StoreHealth, check_stores
from conftest import Cli

DOWN = "postgresql://chatkb:hunter2@127.0.0.1:9/chatkb"


def test_every_backend_in_use_is_checked(home: Path, pg_dsn: str) -> None:  # noqa: F811
    settings = load_settings(store={"pgvector": {"dsn": pg_dsn}})
    library = Library(settings)
    assert [(c.backend, c.reachable, c.knowledge_bases) for c in check_stores(library)] == [
        ("embedded", True, 0)
    ]
    library.create("remote", store="pgvector")
    library.create("local")
    checks = {c.backend: c for c in check_stores(library)}
    assert checks["embedded"].knowledge_bases == 1 and checks["embedded"].reachable
    assert checks["pgvector"].reachable and checks["pgvector"].knowledge_bases == 1
    assert checks["pgvector"].where.startswith("postgresql://postgres")

    down = Library(load_settings(store={"pgvector": {"dsn": DOWN, "timeout": 2}}))
    failed = {c.backend: c for c in check_stores(down)}["pgvector"]
    assert not failed.reachable and failed.error is not None
    assert "127.0.0.1:9" in failed.error and "hunter2" not in failed.error
    library.delete("remote")
    library.backend("pgvector").close()


def test_an_unconfigured_backend_says_what_to_set(home: Path) -> None:
    library = Library(load_settings(store={"backend": "milvus"}))
    [check] = check_stores(library)
    assert not check.reachable and "CHATKB_STORE__MILVUS__URI" in str(check.error)


def test_results_are_kept_for_a_while(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library = Library(load_settings())
    health = StoreHealth(ttl=60)
    first = health.get(library)
    monkeypatch.setattr("chatkb.store.health.check_stores", lambda _: [])
    assert health.get(library) is first
    assert StoreHealth(ttl=0).get(library) == []


def test_health_reports_a_store_that_cannot_be_reached(tmp_path: Path) -> None:
    store = {"backend": "pgvector", "pgvector": {"dsn": DOWN, "timeout": 2}}
    with (
        isolated_settings(tmp_path / "home", store=store) as settings,
        TestClient(create_app(settings)) as client,
    ):
        response = client.get("/api/health")
    assert response.status_code == 200  # the server itself is alive
    assert response.json() == {
        "status": "degraded",
        "stores": [{"backend": "pgvector", "reachable": False}],
    }
    assert "127.0.0.1" not in response.text  # needs no key: names no server


def test_doctor_reports_stores(cli: Cli, monkeypatch: pytest.MonkeyPatch, pg_dsn: str) -> None:  # noqa: F811
    monkeypatch.setenv("CHATKB_STORE__PGVECTOR__DSN", pg_dsn)
    cli("kb", "create", "remote", "--store", "pgvector")
    data = cli.json("doctor", "--no-load")
    stores = {s["backend"]: s for s in data["stores"]}
    assert stores["pgvector"]["reachable"] and stores["pgvector"]["knowledge_bases"] == 1
    assert any(c["name"] == "store pgvector" and c["status"] == "ok" for c in data["checks"])
    text = " ".join(cli("doctor", "--no-load").stdout.split())
    assert "store pgvector: reachable: postgresql://" in text
    cli("kb", "delete", "remote", "--yes")

    monkeypatch.setenv("CHATKB_STORE__BACKEND", "pgvector")
    monkeypatch.setenv("CHATKB_STORE__PGVECTOR__DSN", DOWN)
    monkeypatch.setenv("CHATKB_STORE__PGVECTOR__TIMEOUT", "2")
    data = cli.json("doctor", "--no-load", code=1)
    [check] = [c for c in data["checks"] if c["name"] == "store pgvector"]
    assert check["status"] == "error" and "127.0.0.1:9" in check["summary"]
    assert "hunter2" not in str(data)
