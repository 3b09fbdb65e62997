"""LlamaCppServer against the real llama.cpp engine and the bundled SmolLM2 model."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

import _llm_server
from chatkb.errors import BackendUnavailableError
from chatkb.llm.llamacpp_server import LlamaCppServer, bundled_smollm2_path

pytestmark = pytest.mark.server
# Bound by assignment, not imported by name: pytest finds the fixture as a module
# attribute, and ruff does not take the test parameters for redefinitions of it.
llm_server = _llm_server.llm_server

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def _client() -> httpx.Client:
    return httpx.Client(timeout=120.0, trust_env=False)


def _port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_models_lists_the_served_model(llm_server: LlamaCppServer) -> None:
    with _client() as client:
        body = client.get(f"{llm_server.base_url}/models").raise_for_status().json()
    assert [model["id"] for model in body["data"]] == [llm_server.model]
    assert llm_server.model == "SmolLM2-135M-Instruct.Q4_1"


def test_chat_completion(llm_server: LlamaCppServer) -> None:
    request = {"model": llm_server.model, "messages": QUESTION, "max_tokens": 32}
    with _client() as client:
        response = client.post(f"{llm_server.base_url}/chat/completions", json=request)
    body = response.raise_for_status().json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"].strip()
    assert body["usage"]["completion_tokens"] > 0
    assert body["usage"]["prompt_tokens"] > 0


def test_streaming_chat_completion(llm_server: LlamaCppServer) -> None:
    request = {"model": llm_server.model, "messages": QUESTION, "max_tokens": 32, "stream": True}
    with (
        _client() as client,
        client.stream("POST", f"{llm_server.base_url}/chat/completions", json=request) as r,
    ):
        assert r.headers["content-type"].startswith("text/event-stream")
        payloads = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert len([d for d in deltas if d]) >= 3
    assert chunks[-1]["choices"][0]["finish_reason"] in {"stop", "length"}


def test_health(llm_server: LlamaCppServer) -> None:
    root = llm_server.base_url.removesuffix("/v1")
    with _client() as client:
        assert client.get(f"{root}/health").json() == {"status": "ok"}


def test_stop_closes_the_port(llm_server: LlamaCppServer) -> None:
    # A second, short-lived server on the same model file: the shared one must outlive us.
    with LlamaCppServer(llm_server.model_path, model_alias="second") as server:
        assert server.model == "second"
        assert _port_is_open(server.port)
    assert not _port_is_open(server.port)
    assert not server.running
    with pytest.raises(BackendUnavailableError, match="not running"):
        _ = server.base_url


def test_missing_model_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="not found"):
        LlamaCppServer(tmp_path / "absent.gguf").start()


def test_busy_port_is_reported(llm_server: LlamaCppServer) -> None:
    server = LlamaCppServer(bundled_smollm2_path(), port=llm_server.port)
    with pytest.raises(BackendUnavailableError, match="port is free"):
        server.start()
    assert not server.running
