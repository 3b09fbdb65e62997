"""Turning a DoctorReport into text: a terminal page for people, a few lines for logs."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from chatkb.doctor.report import Check, DoctorReport, DriverInfo, SystemInfo

MARKS = {"ok": "[green]✔[/green]", "info": "[blue]i[/blue]", "warn": "[yellow]![/yellow]"}
MARKS["error"] = "[red]✖[/red]"


def gib(value: int | None) -> str:
    return "?" if value is None else f"{value / 2**30:.1f} GiB"


def system_line(system: SystemInfo) -> str:
    return (
        f"{system.os}; {system.python}; {system.cpu}, {system.cores} cores; RAM "
        f"{gib(system.ram_available_bytes)} free of {gib(system.ram_total_bytes)}; disk "
        f"{gib(system.disk_free_bytes)} free at {system.disk_path}"
    )


def gpu_line(driver: DriverInfo) -> str:
    if driver.source is None:
        return f"none ({driver.error})" if driver.error else "none"
    cuda = f", CUDA ≤ {driver.cuda_version}" if driver.cuda_version else ""
    gpus = "; ".join(
        f"{g.index}: {g.name}" + (f" ({g.memory_total_mib} MiB)" if g.memory_total_mib else "")
        for g in driver.gpus
    )
    return f"driver {driver.driver_version}{cuda} via {driver.source}; {gpus or 'no GPU listed'}"


def summary_lines(report: DoctorReport) -> list[str]:
    """For the server's startup log: what runs where, then every check that is not ok."""
    lines = [
        f"chatkb doctor: {report.status}",
        f"system: {system_line(report.system)}",
        f"gpu: {gpu_line(report.driver)}",
    ]
    for model in report.models:
        where = model.device or "not loaded"
        state = f"error: {model.error}" if model.error else where
        lines.append(f"{model.role} {model.model or model.backend}: {state}")
    lines += [_check_line(c) for c in report.checks if c.status != "ok"]
    return lines


def _check_line(check: Check) -> str:
    fix = f" — fix: {check.fix}" if check.fix else ""
    return f"[{check.status}] {check.name}: {check.summary}{fix}"


def print_report(report: DoctorReport, console: Console) -> None:
    for label, text in _sections(report):
        console.print(f"[bold]{label:<8}[/bold]{escape(text)}")
    console.print()
    for check in report.checks:
        console.print(f"{MARKS[check.status]} {escape(check.name)}: {escape(check.summary)}")
        if check.fix and check.status != "ok":
            console.print(f"    fix: {check.fix}", markup=False)
    console.print(f"\n[bold]status: {report.status}[/bold]")


def _sections(report: DoctorReport) -> list[tuple[str, str]]:
    rows = [("System", system_line(report.system)), ("GPU", gpu_line(report.driver))]
    for runtime in report.runtimes:
        built = f", built for CUDA {runtime.cuda_version}" if runtime.cuda_version else ""
        sees = ", ".join(runtime.devices) or "no devices"
        rows.append(("Runtime", f"{runtime.name} {runtime.version}{built}; sees {sees}"))
    for model in report.models:
        where = f"error: {model.error}" if model.error else (model.device or "-")
        rows.append(("Model", f"{model.role} {model.model or model.backend}: {where}"))
    for server in report.servers:
        state = "reachable" if server.reachable else str(server.error)
        rows.append(("Server", f"{server.role} ({server.kind}) {server.url}: {state}"))
    for store in report.stores:
        state = f"reachable: {store.where}" if store.reachable else f"error: {store.error}"
        rows.append(("Store", f"{store.backend} ({store.knowledge_bases} KBs): {state}"))
    return rows
