"""Helpers for the server tests: an isolated home, a real uvicorn on loopback, job waiting,
and a recording proxy in front of a real LLM server."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from chatkb.settings import Settings, load_settings

# Small real documents: a few chunks each, so embedding stays cheap on a shared machine.
EN_DOC = "en_wiki_ibm.md"
ZH_DOC = "zh_gbk_cpython_cjkencodings.txt"
EN_TXT = "en_utf8_war_and_peace_1p.txt"
PDF_DOC = "zh_mixed_text_and_image.pdf"


@contextmanager
def isolated_settings(home: Path, **overrides: Any) -> Iterator[Settings]:
    """Settings for a fresh CHATKB_HOME, without the caller's CHATKB_* variables."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("CHATKB_") and name != "CHATKB_DATASETS":
                patch.delenv(name)
        patch.setenv("CHATKB_HOME", str(home))
        patch.setenv("CHATKB_EMBEDDER__THREADS", "1")
        patch.setenv("CHATKB_LOADING__OCR", "false")
        yield load_settings(**overrides)


class LiveServer:
    """``app`` served by uvicorn on 127.0.0.1 and an ephemeral port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)


def wait_job(client: httpx.Client, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def upload(
    client: httpx.Client, kb: str, paths: list[Path], *, wait: bool = True
) -> dict[str, Any]:
    files = [("files", (p.name, p.read_bytes())) for p in paths]
    response = client.post(f"/api/kbs/{kb}/documents", files=files)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    if wait and body["job"]:
        body["job"] = wait_job(client, body["job"]["id"])
    return body


def sse_events(text: str) -> list[tuple[str, str]]:
    """``(event, data)`` pairs of an SSE body; ``event`` is "" when unnamed."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((event, "\n".join(data)))
    return events


class RecordingProxy:
    """Forwards HTTP requests to ``upstream`` (a real LLM server) and keeps each JSON request
    body and each response body, so a test can see the prompt, model and temperature chatkb
    really sent, and what the server answered."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[dict[str, Any]] = []
        self.responses: list[bytes] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._relay(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                proxy.requests.append(json.loads(body))
                self._relay(body)

            def _relay(self, body: bytes | None) -> None:
                path = self.path.removeprefix("/v1")
                response = httpx.request(
                    self.command,
                    proxy.upstream + path,
                    content=body,
                    timeout=120,
                    headers={"content-type": "application/json"},
                )
                proxy.responses.append(response.content)
                self.send_response(response.status_code)
                self.send_header("content-type", response.headers.get("content-type", ""))
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            def log_message(self, *_: object) -> None:
                pass

        return Handler

    def __enter__(self) -> RecordingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
