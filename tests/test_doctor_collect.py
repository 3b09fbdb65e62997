"""Collection for chatkb doctor: NVML and nvidia-smi (replayed from recordings, since this
machine has no GPU), the runtimes installed here (real), and the whole report and CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chatkb.doctor import collect_report
from chatkb.doctor.probe_gpu import QUERY, collect_driver
from chatkb.doctor.probe_runtimes import probe_onnxruntime, probe_torch
from chatkb.doctor.probe_system import collect_system
from chatkb.doctor.render import summary_lines
from chatkb.settings import Settings
from conftest import Cli

FIXTURES = Path(__file__).parent / "fixtures" / "doctor"


class RecordedNvml:
    """pynvml's calls, answering with the values recorded in nvml-h100-580.159.04.json."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.calls: list[str] = []

    def nvmlInit(self) -> None:
        self.calls.append("init")

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlSystemGetDriverVersion(self) -> str:
        return str(self.values["nvmlSystemGetDriverVersion"])

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return int(self.values["nvmlSystemGetCudaDriverVersion"])

    def nvmlDeviceGetCount(self) -> int:
        return len(self.values["devices"])

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        device: dict[str, Any] = self.values["devices"][index]
        return device

    def nvmlDeviceGetName(self, handle: dict[str, Any]) -> bytes:
        return str(handle["nvmlDeviceGetName"]).encode()  # bytes, as nvidia-ml-py < 11.5

    def nvmlDeviceGetUUID(self, handle: dict[str, Any]) -> str:
        return str(handle["nvmlDeviceGetUUID"])

    def nvmlDeviceGetMemoryInfo(self, handle: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(**handle["nvmlDeviceGetMemoryInfo"])


def test_driver_from_nvml() -> None:
    nvml = RecordedNvml(json.loads((FIXTURES / "nvml-h100-580.159.04.json").read_text()))
    driver = collect_driver(nvml=nvml)
    assert (driver.source, driver.driver_version, driver.cuda_version) == (
        "nvml",
        "580.159.04",
        "13.0",
    )
    (gpu,) = driver.gpus
    assert (gpu.name, gpu.memory_total_mib, gpu.memory_used_mib) == (
        "NVIDIA H100 80GB HBM3",
        81559,
        0,
    )
    assert nvml.calls == ["init", "shutdown"]


class NoDriverNvml(RecordedNvml):
    def nvmlInit(self) -> None:
        raise RuntimeError("NVML Shared Library Not Found")


def _replay(query: str, table: str) -> Any:
    def run(args: Sequence[str]) -> str:
        return (FIXTURES / (query if list(args) == QUERY else table)).read_text()

    return run


def test_driver_from_nvidia_smi_when_nvml_fails() -> None:
    run = _replay("smi-query-590.48.01-h100.csv", "smi-table-590.48.01-h100.txt")
    driver = collect_driver(nvml=NoDriverNvml({}), run=run)
    assert (driver.source, driver.driver_version, driver.cuda_version) == (
        "nvidia-smi",
        "590.48.01",
        "13.1",
    )
    assert [g.name for g in driver.gpus] == ["NVIDIA H100 80GB HBM3"]


def test_driver_from_nvidia_smi_table_alone() -> None:
    # An old nvidia-smi that prints nothing useful for the query still has the table.
    run = _replay("smi-q-580.105.06-vgpu-cuda-not-found.txt", "smi-table-535.247.01-a10g.txt")
    driver = collect_driver(nvml=NoDriverNvml({}), run=run)
    assert driver.driver_version == "535.247.01" and driver.cuda_version == "12.2"
    assert [g.name for g in driver.gpus] == ["NVIDIA A10G"]


def test_nvidia_smi_failure_is_reported_not_raised() -> None:
    def run(args: Sequence[str]) -> str:
        raise OSError(
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver"
        )

    driver = collect_driver(nvml=NoDriverNvml({}), run=run)
    assert driver.source is None and "couldn't communicate" in (driver.error or "")


def test_this_machine_has_no_driver() -> None:
    driver = collect_driver()
    assert driver.source is None and driver.error


def test_onnxruntime_installed_here() -> None:
    info = probe_onnxruntime()
    assert info is not None and info.name == "onnxruntime"
    assert "CPUExecutionProvider" in info.devices
    assert info.cuda_version is None and info.cuda_usable is False


def test_onnxruntime_gpu_build_info() -> None:
    """A stand-in for an onnxruntime-gpu install (not installable here): its build info."""
    ort = SimpleNamespace(
        __version__="1.22.0",
        get_available_providers=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    build = SimpleNamespace(package_name="onnxruntime-gpu", cuda_version="12.8")
    info = probe_onnxruntime(ort, build)
    assert info is not None and info.cuda_version == "12.8" and info.cuda_usable


def test_torch_whose_driver_is_too_old() -> None:
    """A stand-in for a CUDA torch on an old driver (no GPU here), with torch's real warning."""
    message = (
        "CUDA initialization: The NVIDIA driver on your system is too old (found version 11040)."
    )

    def is_available() -> bool:
        import warnings

        warnings.warn(message, UserWarning, stacklevel=1)
        return False

    torch = SimpleNamespace(
        __version__="2.6.0+cu124",
        version=SimpleNamespace(cuda="12.4"),
        cuda=SimpleNamespace(is_available=is_available, device_count=lambda: 0),
        backends=SimpleNamespace(),
    )
    info = probe_torch(torch)
    assert info is not None
    assert (info.cuda_version, info.cuda_usable) == ("12.4", False)
    assert "found version 11040" in (info.note or "")


def test_system_facts(tmp_path: Path) -> None:
    system = collect_system(tmp_path / "not-yet")
    assert system.cores >= 1 and system.python.startswith("CPython 3.")
    assert system.ram_total_bytes and system.ram_total_bytes > 2**30
    assert system.disk_path == str(tmp_path) and system.disk_free_bytes


def test_collect_report_loads_the_default_embedder(settings: Settings) -> None:
    report = collect_report(settings)
    embedder = next(m for m in report.models if m.role == "embedder")
    assert (embedder.backend, embedder.device, embedder.error) == ("e5-small-onnx", "cpu", None)
    llm = next(m for m in report.models if m.role == "llm")
    assert llm.backend == "extractive"
    assert report.ok
    assert summary_lines(report)[0] == "chatkb doctor: ok"


def test_cli_doctor_json(cli: Cli) -> None:
    data = cli.json("doctor")
    assert data["ok"] is True
    assert {"system", "driver", "runtimes", "models", "servers", "checks"} <= set(data)
    assert data["system"]["cores"] >= 1


def test_cli_doctor_fails_when_a_configured_model_cannot_work(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_EMBEDDER__DEVICE", "cuda")
    result = cli("doctor", "--no-load", code=0)
    assert "status:" in result.stdout
    data = cli.json("doctor", code=1)
    (embedder,) = [m for m in data["models"] if m["role"] == "embedder"]
    assert "runs on the CPU only" in embedder["error"]
    assert any(c["status"] == "error" and c["fix"] for c in data["checks"])


def test_cli_doctor_text(cli: Cli) -> None:
    result = cli("doctor")
    assert "System" in result.stdout and "status: ok" in result.stdout


def test_cli_doctor_fails_on_an_unreachable_reranker(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_RERANKER__BACKEND", "http")
    monkeypatch.setenv("CHATKB_RERANKER__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("CHATKB_RERANKER__MODEL", "bge-reranker-v2-m3")
    data = cli.json("doctor", code=1)
    (reranker,) = [m for m in data["models"] if m["role"] == "reranker"]
    assert "cannot reach the reranker" in reranker["error"]
