"""What ``chatkb doctor`` found: plain frozen data, JSON-ready, with a short summary for logs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from chatkb.llm.servers import ServerInfo
from chatkb.store.health import StoreCheck

Status = Literal["ok", "info", "warn", "error"]


@dataclass(frozen=True)
class Check:
    """One conclusion. ``error`` means something configured cannot work; ``fix`` says what to do."""

    name: str
    status: Status
    summary: str
    fix: str | None = None


@dataclass(frozen=True)
class SystemInfo:
    os: str
    python: str
    cpu: str
    cores: int
    ram_total_bytes: int | None
    ram_available_bytes: int | None
    disk_path: str
    disk_total_bytes: int | None
    disk_free_bytes: int | None


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total_mib: int | None = None
    memory_used_mib: int | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class DriverInfo:
    """The NVIDIA driver as NVML or ``nvidia-smi`` report it; ``source`` None when none was found.

    ``cuda_version`` is the newest CUDA runtime the driver supports (nvidia-smi's
    "CUDA Version"), not an installed toolkit.
    """

    source: Literal["nvml", "nvidia-smi"] | None
    driver_version: str | None = None
    cuda_version: str | None = None
    gpus: tuple[GpuInfo, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class RuntimeInfo:
    """A GPU-capable library that is installed: what CUDA it was built for, what it can see."""

    name: str
    version: str
    cuda_version: str | None = None
    cuda_usable: bool | None = None
    devices: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """A configured model and where it really runs, found by loading or reaching it."""

    role: Literal["embedder", "reranker", "llm"]
    backend: str
    model: str | None
    device: str | None = None
    detail: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    system: SystemInfo
    driver: DriverInfo
    runtimes: tuple[RuntimeInfo, ...] = ()
    models: tuple[ModelInfo, ...] = ()
    servers: tuple[ServerInfo, ...] = ()
    checks: tuple[Check, ...] = field(default=())
    stores: tuple[StoreCheck, ...] = ()

    @property
    def status(self) -> Status:
        """``error`` or ``warn`` when any check is; otherwise ``ok`` (notes do not count)."""
        statuses = {check.status for check in self.checks}
        if "error" in statuses:
            return "error"
        return "warn" if "warn" in statuses else "ok"

    @property
    def ok(self) -> bool:
        """False when something configured cannot work."""
        return self.status != "error"

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status
        data["ok"] = self.ok
        return data
