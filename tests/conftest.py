"""Fixtures shared by the whole suite: an isolated CHATKB_HOME and CLI helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi.testclient as fastapi_testclient
import pytest
from starlette import testclient
from typer.testing import CliRunner

from _llm_server import llm_server  # noqa: F401  (a session fixture, shared by all modules)
from chatkb.cli.main import app
from chatkb.kb import Library
from chatkb.settings import Settings, load_settings


class _LoopbackTestClient(testclient.TestClient):
    """In-process clients speak to the app as ``http://127.0.0.1``: the server refuses Host
    names outside its allow-list (DNS-rebinding protection), and ``testserver`` is one."""

    def __init__(self, *args: Any, base_url: str = "http://127.0.0.1", **kwargs: Any) -> None:
        super().__init__(*args, base_url=base_url, **kwargs)


testclient.TestClient = _LoopbackTestClient  # type: ignore[misc]
fastapi_testclient.TestClient = _LoopbackTestClient  # type: ignore[misc]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``embedder.cache_dir`` for the whole run: the ONNX model is built once, not per test."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> Iterator[Path]:
    """A fresh CHATKB_HOME; no config file, no environment overrides from the caller."""
    for name in list(__import__("os").environ):
        if name.startswith("CHATKB_") and name not in ("CHATKB_DATASETS",):
            monkeypatch.delenv(name)
    path = tmp_path / "home"
    monkeypatch.setenv("CHATKB_HOME", str(path))
    monkeypatch.setenv("CHATKB_EMBEDDER__THREADS", "1")
    monkeypatch.setenv("CHATKB_EMBEDDER__CACHE_DIR", str(model_cache))
    yield path


@pytest.fixture
def settings(home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def library(settings: Settings) -> Library:
    return Library(settings)


class Cli:
    """Runs ``chatkb`` in-process, as a user would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0) -> Any:
        result = self.runner.invoke(app, list(args))
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result

    def json(self, *args: str, code: int | None = 0) -> Any:
        return json.loads(self(*args, "--json", code=code).stdout)


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli()
