"""Parsing what ``nvidia-smi`` prints. No subprocess here: collection lives in ``probe_gpu``.

nvidia-smi's output is "not guaranteed to be backwards compatible" (its own help text), so
every parser reads by name or pattern and tolerates missing parts. Formats seen in the wild
(tests/fixtures/doctor): the narrow table of drivers up to 470, the wide table from 525 on,
the 610 table that renames "Driver Version"/"CUDA Version" to "KMD Version"/"CUDA UMD
Version", ``--query-gpu … --format=csv`` with and without units, and ``--version``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chatkb.doctor.report import GpuInfo

_DRIVER = re.compile(r"(?:Driver|KMD|DRIVER)\s+[Vv]ersion\s*:\s*([0-9][0-9.]*)")
_CUDA = re.compile(r"CUDA(?:\s+UMD)?\s+Version\s*:\s*([0-9]+\.[0-9]+|Not Found|N/A)")
# A GPU's first table row: "|   0  NVIDIA H100 80GB HBM3          On  |   00000000:…".
_GPU_ROW = re.compile(r"^\|\s+(\d+)\s+(.+?)\s+(On|Off)\s*\|")
_MEMORY = re.compile(r"(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")
_UNIT = re.compile(r"\s*\[[^\]]*\]\s*$")
_MISSING = {"", "N/A", "[N/A]", "[Not Supported]", "Not Found"}


@dataclass(frozen=True)
class SmiSummary:
    """What the default ``nvidia-smi`` table (or ``--version``) says."""

    driver_version: str | None
    cuda_version: str | None
    gpus: tuple[GpuInfo, ...] = ()


def parse_smi_summary(text: str) -> SmiSummary:
    """Driver version, the driver's CUDA version and the GPUs of plain ``nvidia-smi`` output."""
    driver = _DRIVER.search(text)
    cuda = _CUDA.search(text)
    cuda_version = cuda.group(1) if cuda and cuda.group(1)[0].isdigit() else None
    return SmiSummary(driver.group(1) if driver else None, cuda_version, _table_gpus(text))


def _table_gpus(text: str) -> tuple[GpuInfo, ...]:
    gpus: list[GpuInfo] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        row = _GPU_ROW.match(line)
        if not row:
            continue
        memory = next((m for m in map(_MEMORY.search, lines[number + 1 : number + 3]) if m), None)
        used, total = (int(memory.group(1)), int(memory.group(2))) if memory else (None, None)
        gpus.append(GpuInfo(int(row.group(1)), row.group(2).strip(), total, used))
    return tuple(gpus)


def parse_query_csv(text: str) -> list[dict[str, str | None]]:
    """Rows of ``--query-gpu=… --format=csv``; keys without units, "[N/A]" as None.

    Lines before the header (a shell prompt, a banner) are skipped: the header is the first
    line whose first field names a query property.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if _looks_like_header(line)), None)
    if start is None:
        return []
    reader = csv.reader(io.StringIO("\n".join(lines[start:])), skipinitialspace=True)
    header = [_UNIT.sub("", name).strip() for name in next(reader)]
    return [
        {key: _value(cell) for key, cell in zip(header, row, strict=False)}
        for row in reader
        if len(row) >= len(header)
    ]


def _looks_like_header(line: str) -> bool:
    first = line.split(",", 1)[0].strip()
    return bool(re.fullmatch(r"[a-z_][a-z_.]*(?: \[[^\]]+\])?", first))


def _value(cell: str) -> str | None:
    cell = cell.strip()
    return None if cell in _MISSING else cell


def gpus_from_query(rows: Sequence[Mapping[str, str | None]]) -> tuple[GpuInfo, ...]:
    return tuple(
        GpuInfo(
            index=_int(row.get("index")) if row.get("index") is not None else i,
            name=row.get("name") or "unknown GPU",
            memory_total_mib=_mib(row.get("memory.total")),
            memory_used_mib=_mib(row.get("memory.used")),
            uuid=row.get("uuid"),
        )
        for i, row in enumerate(rows)
    )


def _int(value: str | None) -> int:
    return int(value or 0)


def _mib(value: str | None) -> int | None:
    """``"81559 MiB"`` or ``"81559"`` (``nounits``) → 81559."""
    if value is None:
        return None
    match = re.match(r"\s*(\d+)", value)
    return int(match.group(1)) if match else None


def cuda_version_from_int(value: int) -> str:
    """NVML and the CUDA driver API encode 12.4 as 12040 (1000 × major + 10 × minor)."""
    return f"{value // 1000}.{(value % 1000) // 10}"


def version_tuple(version: str) -> tuple[int, ...]:
    """``"550.54.14"`` → (550, 54, 14); non-numeric parts stop the tuple."""
    parts: list[int] = []
    for part in version.strip().split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)
