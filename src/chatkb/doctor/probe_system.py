"""OS, Python, CPU, memory and disk, from the standard library (no psutil needed)."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from chatkb.doctor.report import SystemInfo

_MEMINFO = Path("/proc/meminfo")
_CPUINFO = Path("/proc/cpuinfo")
_OS_RELEASE = Path("/etc/os-release")


def collect_system(data_dir: Path) -> SystemInfo:
    total, available = _memory()
    disk_path = _existing(data_dir)
    disk_total: int | None = None
    disk_free: int | None = None
    try:
        usage = shutil.disk_usage(disk_path)
        disk_total, disk_free = usage.total, usage.free
    except OSError:
        pass
    return SystemInfo(
        os=_os_name(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        ram_total_bytes=total,
        ram_available_bytes=available,
        disk_path=str(disk_path),
        disk_total_bytes=disk_total,
        disk_free_bytes=disk_free,
    )


def _os_name() -> str:
    base = f"{platform.system()} {platform.release()} ({platform.machine()})"
    pretty = _key_value(_read(_OS_RELEASE), "=").get("PRETTY_NAME", "").strip('"')
    return f"{pretty}, {base}" if pretty else base


def _cpu_model() -> str:
    model = _key_value(_read(_CPUINFO), ":").get("model name")
    return model or platform.processor() or platform.machine() or "unknown"


def _memory() -> tuple[int | None, int | None]:
    info = _key_value(_read(_MEMINFO), ":")
    if "MemTotal" in info:
        total = _kib(info["MemTotal"])
        return total, _kib(info.get("MemAvailable", "")) or None
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None, None
    return pages * size, None


def _kib(value: str) -> int:
    digits = value.split()[0] if value.split() else "0"
    return int(digits) * 1024 if digits.isdigit() else 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _key_value(text: str, separator: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        key, found, value = line.partition(separator)
        if found and key.strip() not in pairs:
            pairs[key.strip()] = value.strip()
    return pairs


def _existing(path: Path) -> Path:
    """The data folder, or its nearest existing parent before it is created."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path.cwd()
