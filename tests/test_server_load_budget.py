"""A real ``chatkb serve`` with a file that takes minutes to load (a scan of blank pages,
each rendered and OCR'd): a cancel kills the loading worker and ends the job; SIGTERM stops
the server gracefully in the middle of the file, the job stays in the journal, and the next
start runs it again (the file then fails alone with its reason, the other file goes in)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from _datasets import doc
from _server import wait_job

pytestmark = pytest.mark.server
GOOD = doc("en_wiki_ibm.md")


def _blank_scan(folder: Path, pages: int = 200) -> Path:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(595, 842)
    path = folder / "blank-scan.pdf"
    pdf.save(str(path))
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(home: Path, **env_overrides: str) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
    env.update(CHATKB_HOME=str(home), CHATKB_EMBEDDER__THREADS="1", **env_overrides)
    port = _free_port()
    chatkb = str(Path(sys.executable).with_name("chatkb"))
    process = subprocess.Popen(
        [chatkb, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    deadline = time.monotonic() + 120
    while True:
        try:
            if client.get("/api/health").status_code == 200:
                return process, client
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "no server"
        time.sleep(0.2)


def _loading_workers(parent: int) -> list[int]:
    """Pids of the loading worker processes ``parent`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"chatkb.loaders._worker" in cmdline:
            found.append(int(entry.name))
    return found


def _gone(pid: int, within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, not yet reaped by its parent
            return True
        time.sleep(0.1)
    return False


def _upload(client: httpx.Client, paths: list[Path]) -> str:
    files = [("files", (p.name, p.read_bytes())) for p in paths]
    response = client.post("/api/kbs/docs/documents", files=files)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job"]["id"]
    return job_id


def _loading(client: httpx.Client, job_id: str, source: str, parent: int) -> list[int]:
    """Wait until ``source`` is being loaded; its worker pids."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        workers = _loading_workers(parent)
        if job["current"] == source and workers:
            return workers
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.1)
    raise AssertionError(f"{source} never started loading")


def test_cancel_and_sigterm_stop_the_file_being_loaded(tmp_path: Path) -> None:
    scan = _blank_scan(tmp_path)
    home = tmp_path / "home"
    process, client = _serve(home, CHATKB_LOADING__TIMEOUT="600")
    try:
        client.post("/api/kbs", json={"name": "docs"})
        cancelled = _upload(client, [scan])
        workers = _loading(client, cancelled, scan.name, process.pid)
        client.post(f"/api/jobs/{cancelled}/cancel")
        assert wait_job(client, cancelled, timeout=60)["status"] == "cancelled"
        assert all(_gone(pid) for pid in workers)  # the stuck file's worker was killed

        resumed = _upload(client, [scan, GOOD])
        workers = _loading(client, resumed, scan.name, process.pid)
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down (lifespan included), then exits by the signal it caught.
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
        assert all(_gone(pid) for pid in workers)
    finally:
        client.close()
        if process.poll() is None:
            process.kill()
            process.wait()

    process, client = _serve(home, CHATKB_LOADING__MAX_OCR_PAGES="1")
    try:
        job = wait_job(client, resumed, timeout=300)  # run again from the journal
        outcomes = {f["source"]: f for f in job["files"]}
        assert outcomes[GOOD.name]["status"] == "added", job
        assert outcomes[scan.name]["status"] == "failed", job
        assert "OCR" in outcomes[scan.name]["error"], job
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
