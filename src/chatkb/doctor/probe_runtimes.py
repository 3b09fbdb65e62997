"""GPU-capable libraries that happen to be installed: torch, onnxruntime, xllamacpp.

Each is imported only if installed (never installed by chatkb): what CUDA it was built for
and what devices it can actually use. torch's own warning text ("The NVIDIA driver on your
system is too old (found version 11040)") is kept as the note: it names the cause.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from collections.abc import Callable
from typing import Any

from chatkb.doctor.report import RuntimeInfo


def collect_runtimes() -> tuple[RuntimeInfo, ...]:
    probes: tuple[Callable[[], RuntimeInfo | None], ...] = (
        probe_torch,
        probe_onnxruntime,
        probe_xllamacpp,
    )
    return tuple(info for info in (p() for p in probes) if info is not None)


def _module(name: str) -> Any | None:
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # a broken install: report it as absent rather than crash the doctor
        return None


def probe_torch(torch: Any | None = None) -> RuntimeInfo | None:
    torch = torch if torch is not None else _module("torch")
    if torch is None:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usable = _call(torch.cuda.is_available)
        count = int(_call(torch.cuda.device_count) or 0) if usable else 0
        devices = tuple(f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(count))
    mps = bool(_call(getattr(getattr(torch.backends, "mps", None), "is_available", None)))
    note = "; ".join(str(w.message).strip() for w in caught) or None
    return RuntimeInfo(
        name="torch",
        version=str(torch.__version__),
        cuda_version=getattr(torch.version, "cuda", None),
        cuda_usable=bool(usable),
        devices=devices + (("mps",) if mps else ()),
        note=note,
    )


def probe_onnxruntime(ort: Any | None = None, build_info: Any | None = None) -> RuntimeInfo | None:
    ort = ort if ort is not None else _module("onnxruntime")
    if ort is None:
        return None
    providers = tuple(ort.get_available_providers())
    # GPU packages (onnxruntime-gpu) record the CUDA version they were built for here.
    info = build_info or _module("onnxruntime.capi.build_and_package_info")
    cuda = getattr(info, "cuda_version", None) or None
    package = getattr(info, "package_name", "onnxruntime")
    return RuntimeInfo(
        name="onnxruntime",
        version=str(ort.__version__),
        cuda_version=cuda,
        cuda_usable="CUDAExecutionProvider" in providers,
        devices=providers,
        note=f"package {package}",
    )


def probe_xllamacpp(xllamacpp: Any | None = None) -> RuntimeInfo | None:
    xllamacpp = xllamacpp if xllamacpp is not None else _module("xllamacpp")
    if xllamacpp is None:
        return None
    devices = tuple(
        f"{d.get('name')}: {d.get('description')}" for d in _call(xllamacpp.get_device_info) or []
    )
    gpu = any(not d.startswith("CPU") for d in devices)
    return RuntimeInfo(
        name="xllamacpp",
        version=str(getattr(xllamacpp, "__version__", "unknown")),
        cuda_usable=gpu,
        devices=devices,
        note=None if gpu else "CPU build: GGUF models run on the CPU",
    )


def _call(function: Callable[[], Any] | None) -> Any:
    if function is None:
        return None
    try:
        return function()
    except Exception:  # a runtime that cannot even ask its driver counts as unusable
        return None
