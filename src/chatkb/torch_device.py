"""Where a torch model runs: ``auto`` picks a GPU when there is one and says so; an explicit
device that cannot be used is an error (never a silent fall back to the CPU)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from chatkb.errors import BackendUnavailableError, DeviceError

log = logging.getLogger(__name__)


def import_torch(hint: str) -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise BackendUnavailableError(f"this backend needs torch: {hint}") from exc


def resolve_device(requested: str, *, hint: str = "pip install 'chatkb[st]'") -> str:
    """``cpu``, ``cuda:N`` or ``mps`` for a requested ``auto``/``cpu``/``cuda[:N]``/``mps``."""
    torch = import_torch(hint)
    if requested == "auto":
        device = "cuda:0" if torch.cuda.is_available() else "cpu"
        log.warning("device auto: running on %s", device)
        return device
    if requested == "cpu":
        return "cpu"
    if requested.startswith("cuda"):
        return _cuda(torch, requested)
    if requested == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError("device 'mps' was asked for, but this machine has no usable MPS")
        return "mps"
    raise DeviceError(f"unknown device {requested!r}; use auto, cpu, cuda, cuda:N or mps")


def _cuda(torch: Any, requested: str) -> str:
    if not torch.cuda.is_available():
        raise DeviceError(
            f"device {requested!r} was asked for, but torch sees no CUDA GPU (is this a CPU "
            "build of torch, or is the driver missing? `chatkb doctor` explains); set "
            "device=cpu or auto"
        )
    index = int(requested.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise DeviceError(
            f"device {requested!r} was asked for, but only {torch.cuda.device_count()} "
            "GPU(s) are visible"
        )
    return f"cuda:{index}"
