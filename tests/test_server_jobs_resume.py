"""Accepted ingestion jobs survive the server: a graceful shutdown mid-job and SIGKILLs of a
real ``chatkb serve`` mid-job leave the job queued on disk; the next start runs it again
under the same id, and every document ends up indexed exactly once."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from _datasets import doc
from _server import EN_DOC, EN_TXT, PDF_DOC, ZH_DOC, isolated_settings, upload, wait_job
from chatkb.server import create_app

pytestmark = pytest.mark.server
DOCS = [doc(EN_DOC), doc(ZH_DOC), doc(EN_TXT), doc(PDF_DOC)]
KILLS = 5


def _indexed(client: httpx.Client | TestClient, kb: str) -> list[str]:
    listed = client.get(f"/api/kbs/{kb}/documents").json()["data"]
    return sorted(d["source"] for d in listed if d["status"] == "indexed")


def test_a_job_cut_short_by_a_shutdown_runs_again_at_the_next_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with isolated_settings(home) as settings:
        with TestClient(create_app(settings)) as first:
            first.post("/api/kbs", json={"name": "docs"})
            job_id = upload(first, "docs", DOCS, wait=False)["job"]["id"]
        # The app has shut down, most likely in the middle of the job.
        with TestClient(create_app(settings)) as second:
            done = wait_job(second, job_id)
            assert done["status"] == "done", done
            assert _indexed(second, "docs") == sorted(p.name for p in DOCS)
            kb = second.get("/api/kbs/docs").json()
            assert kb["documents"] == len(DOCS)  # nothing twice


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Serve:
    """``chatkb serve`` as a real process on a free loopback port."""

    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
        env.update(CHATKB_HOME=str(home), CHATKB_EMBEDDER__THREADS="1")
        env["CHATKB_LOADING__OCR"] = "false"
        self.port = _free_port()
        chatkb = str(Path(sys.executable).with_name("chatkb"))
        self.process = subprocess.Popen(
            [chatkb, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.client.get("/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.2)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.client.close()


def _job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
    return job


def test_sigkills_of_chatkb_serve_mid_job_lose_no_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = _Serve(home)
    server.client.post("/api/kbs", json={"name": "docs"})
    files = [("files", (p.name, p.read_bytes())) for p in DOCS]
    job_id = server.client.post("/api/kbs/docs/documents", files=files).json()["job"]["id"]
    statuses = []
    for _ in range(KILLS):
        deadline = time.monotonic() + 60
        while _job(server.client, job_id)["status"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        statuses.append(_job(server.client, job_id)["status"])
        server.kill()  # SIGKILL: no shutdown code runs
        server = _Serve(home)
        assert _job(server.client, job_id)["id"] == job_id  # known again after the restart
    try:
        deadline = time.monotonic() + 600
        while (job := _job(server.client, job_id))["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["status"] == "done", job
        assert _indexed(server.client, "docs") == sorted(p.name for p in DOCS)
        assert server.client.get("/api/kbs/docs").json()["documents"] == len(DOCS)
        assert "running" in statuses  # at least one kill landed while it ran
    finally:
        server.kill()


def test_the_journal_keeps_only_the_jobs_kept_for_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatkb.server import jobs

    monkeypatch.setattr(jobs, "JOBS_KEPT", 2)
    home = tmp_path / "home"
    with isolated_settings(home) as settings, TestClient(create_app(settings)) as client:
        client.post("/api/kbs", json={"name": "docs"})
        ids = [upload(client, "docs", [doc(EN_TXT)])["job"]["id"] for _ in range(4)]
    with sqlite3.connect(home / "jobs.sqlite") as conn:
        kept = {row[0] for row in conn.execute("SELECT id FROM jobs")}
    conn.close()
    assert kept == set(ids[1:])  # the oldest finished job left the journal with memory
