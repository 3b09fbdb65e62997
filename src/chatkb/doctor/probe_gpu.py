"""The NVIDIA driver and GPUs: through NVML (``nvidia-ml-py``) when installed, else nvidia-smi."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from chatkb.doctor.nvidia import (
    cuda_version_from_int,
    gpus_from_query,
    parse_query_csv,
    parse_smi_summary,
)
from chatkb.doctor.report import DriverInfo, GpuInfo

Runner = Callable[[Sequence[str]], str]
SMI_TIMEOUT_S = 20.0
QUERY = ["--query-gpu=index,name,memory.total,memory.used,uuid,driver_version", "--format=csv"]
NO_DRIVER = "no NVIDIA driver found (NVML could not be loaded and nvidia-smi is not on PATH)"


def collect_driver(*, nvml: Any | None = None, run: Runner | None = None) -> DriverInfo:
    """NVML first (exact, no subprocess), then nvidia-smi's text; ``nvml``/``run`` for tests."""
    module = nvml if nvml is not None else _import_nvml()
    nvml_error = None
    if module is not None:
        try:
            return driver_from_nvml(module)
        except Exception as exc:  # NVMLError subclasses: library missing, driver not loaded
            nvml_error = f"NVML: {exc}"
    smi = run or _run_smi
    if run is None and shutil.which("nvidia-smi") is None:
        return DriverInfo(None, error=nvml_error or NO_DRIVER)
    try:
        return driver_from_smi(smi)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return DriverInfo(None, error=f"nvidia-smi failed: {exc}")


def driver_from_nvml(nvml: Any) -> DriverInfo:
    nvml.nvmlInit()
    try:
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        cuda = cuda_version_from_int(int(nvml.nvmlSystemGetCudaDriverVersion()))
        gpus = tuple(_nvml_gpu(nvml, i) for i in range(int(nvml.nvmlDeviceGetCount())))
    finally:
        nvml.nvmlShutdown()
    return DriverInfo("nvml", driver, cuda, gpus)


def _nvml_gpu(nvml: Any, index: int) -> GpuInfo:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    return GpuInfo(
        index=index,
        name=_text(nvml.nvmlDeviceGetName(handle)),
        memory_total_mib=int(memory.total) // 2**20,
        memory_used_mib=int(memory.used) // 2**20,
        uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
    )


def driver_from_smi(run: Runner) -> DriverInfo:
    """The query CSV for full GPU names, the plain table for the driver's CUDA version."""
    rows = parse_query_csv(run(QUERY))
    summary = parse_smi_summary(run([]))
    gpus = gpus_from_query(rows) or summary.gpus
    driver = (rows[0].get("driver_version") if rows else None) or summary.driver_version
    if driver is None and not gpus:
        raise ValueError("nvidia-smi printed no driver version and no GPU")
    return DriverInfo("nvidia-smi", driver, summary.cuda_version, gpus)


def _run_smi(args: Sequence[str]) -> str:
    done = subprocess.run(
        ["nvidia-smi", *args], capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise OSError(message[0] if message else f"exit code {done.returncode}")
    return done.stdout


def _import_nvml() -> Any | None:
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def _text(value: Any) -> str:
    # nvidia-ml-py returned bytes before 11.5 and str since.
    return value.decode() if isinstance(value, bytes) else str(value)
