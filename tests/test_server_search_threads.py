"""Searches share ``server.search_threads`` worker threads, first come first served: against
a real uvicorn, concurrent ``/api/search``, Chatchat ``search_docs`` and ``/v1/embeddings``
requests never run more than that many at once, and every one gets the answer it gets
alone. The search itself is real; each is counted (and held 50 ms, so that they overlap)
on its way in."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from _datasets import doc
from _server import EN_DOC, LiveServer, isolated_settings, upload
from chatkb.server import create_app
from chatkb.server.routes import chatchat_kb, openai, search
from chatkb.server.state import ServerState

QUESTION = "In which year was IBM founded?"


class Overlap:
    """Counts how many wrapped calls run at once (the most seen is ``peak``)."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
            try:
                time.sleep(0.05)
                return function(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        return counted


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("search-threads") / "home"


@contextmanager
def _serve(home: Path, threads: int) -> Iterator[httpx.Client]:
    with (
        isolated_settings(home, server={"search_threads": threads}) as settings,
        LiveServer(create_app(settings)) as live,
        live.client() as client,
    ):
        if client.get("/api/kbs/en").status_code == 404:
            client.post("/api/kbs", json={"name": "en"})
            upload(client, "en", [doc(EN_DOC)])
        yield client


def _requests(client: httpx.Client) -> list[Callable[[], Any]]:
    """Three kinds of search work, three of each."""

    def api_search() -> Any:
        return client.post("/api/search", json={"query": QUESTION, "kbs": ["en"]}).json()

    def search_docs() -> Any:
        body = {"query": QUESTION, "knowledge_base_name": "en", "top_k": 3}
        return client.post("/knowledge_base/search_docs", json=body).json()

    def embeddings() -> Any:
        body = {"input": [QUESTION], "model": "kb:en"}
        return client.post("/v1/embeddings", json=body).json()["data"][0]["embedding"][:8]

    return [api_search, search_docs, embeddings] * 3


def test_concurrent_searches_run_at_most_search_threads_at_once(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlap = Overlap()
    monkeypatch.setattr(search, "_search", overlap.wrap(search._search))
    monkeypatch.setattr(chatchat_kb, "_search_docs", overlap.wrap(chatchat_kb._search_docs))
    monkeypatch.setattr(openai, "_embeddings", overlap.wrap(openai._embeddings))
    with _serve(home, threads=2) as client:
        requests = _requests(client)
        alone = [request() for request in requests]
        assert overlap.peak == 1
        with ThreadPoolExecutor(len(requests)) as pool:
            together = list(pool.map(lambda request: request(), requests))
    assert overlap.peak == 2  # they did overlap, and never beyond the limit
    assert together == alone
    assert "1911" in alone[0]["data"][0]["text"]


def test_search_threads_default_to_three_per_core(home: Path) -> None:
    with isolated_settings(home) as settings:
        state = ServerState(settings)
        try:
            assert state.searches.total_tokens == 3 * (os.cpu_count() or 1)
        finally:
            state.close()
    with isolated_settings(home, server={"search_threads": 5}) as settings:
        state = ServerState(settings)
        try:
            assert state.searches.total_tokens == 5
        finally:
            state.close()
