"""The one device rule every local model follows.

``auto`` picks the first CUDA device, else Apple's MPS, else the CPU, and logs the choice (a
warning when an NVIDIA GPU is installed but cannot be used: the silent CPU fallback that
operators otherwise never notice). An explicit ``cuda``/``cuda:N``/``mps`` that cannot be
honoured raises ``DeviceError`` with the reason; it never falls back.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from chatkb.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)

_CUDA = re.compile(r"^cuda(?::(\d+))?$")
VALID = "auto, cpu, cuda, cuda:N or mps"


@dataclass(frozen=True)
class Accelerators:
    """What a runtime can use. ``reason`` explains an empty ``cuda``; ``gpu_present`` says an
    NVIDIA GPU is installed all the same (so running on the CPU deserves a warning)."""

    cuda: tuple[str, ...] = ()
    mps: bool = False
    reason: str | None = None
    gpu_present: bool = False


def resolve_device(requested: str, available: Accelerators, *, model: str) -> str:
    """The device ``model`` runs on: ``cpu``, ``cuda:N`` or ``mps``; see the module docstring."""
    wanted = requested.strip().lower()
    if wanted == "cpu":
        return "cpu"
    if wanted == "auto":
        return _auto(available, model)
    if wanted == "mps":
        if not available.mps:
            raise DeviceError(
                f"{model}: device 'mps' was asked for, but Apple's Metal (MPS) is not "
                'available here; set device = "cpu" or "auto"'
            )
        return "mps"
    match = _CUDA.match(wanted)
    if not match:
        raise ConfigError(f"{model}: unknown device {requested!r}; use {VALID}")
    return _cuda(int(match.group(1) or 0), requested, available, model)


def _cuda(index: int, requested: str, available: Accelerators, model: str) -> str:
    if not available.cuda:
        reason = available.reason or "no CUDA device is visible"
        raise DeviceError(
            f"{model}: device {requested!r} cannot be used: {reason}. Fix that (see "
            '`chatkb doctor`), or set device = "cpu" (or "auto" to use a GPU only when '
            "one works)"
        )
    if index >= len(available.cuda):
        raise DeviceError(
            f"{model}: device {requested!r} does not exist: {len(available.cuda)} CUDA "
            f"device(s) visible ({', '.join(available.cuda)}); use cuda:0 … "
            f"cuda:{len(available.cuda) - 1}"
        )
    return f"cuda:{index}"


def _auto(available: Accelerators, model: str) -> str:
    if available.cuda:
        log.info("%s: device auto → cuda:0 (%s)", model, available.cuda[0])
        return "cuda:0"
    if available.mps:
        log.info("%s: device auto → mps", model)
        return "mps"
    if available.gpu_present:
        log.warning(
            "%s: device auto → cpu although a GPU is installed: %s", model, available.reason
        )
    else:
        log.info("%s: device auto → cpu (no GPU found)", model)
    return "cpu"
