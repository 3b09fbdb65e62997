"""The hardware report (``chatkb doctor`` without loading models), collected once at startup.

Collecting takes a few seconds (driver, runtimes, model servers), so it runs in a thread
while the server already answers; ``/api/status`` waits briefly for it. The summary goes to
the log, and ``warnings`` turns it, plus the devices the models really use, into the
sentences an operator must see (a model on the CPU while a GPU sits idle, above all).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from chatkb.doctor import DoctorReport, collect_report
from chatkb.doctor.render import summary_lines
from chatkb.settings import Settings

log = logging.getLogger(__name__)

NOT_READY = "the hardware report is still being collected; reload in a few seconds"


class HardwareReport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.report: DoctorReport | None = None
        self.error: str | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Collect in a background thread (once); never loads a model."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._collect, name="chatkb-doctor", daemon=True)
            self._thread.start()

    def wait(self, timeout: float) -> DoctorReport | None:
        """The report, waiting up to ``timeout`` seconds; None if not (yet) there."""
        if self._thread is not None:
            self._done.wait(timeout)
        return self.report

    def _collect(self) -> None:
        try:
            report = collect_report(self.settings, load_models=False)
            self.report = report
            for line in summary_lines(report):
                log.info("%s", line)
            if report.status != "ok":
                log.warning(
                    "chatkb doctor found problems (%s): see the lines above or run `chatkb doctor`",
                    report.status,
                )
        except Exception as exc:  # a failed probe must never take the server down
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("could not collect the hardware report: %s", self.error, exc_info=True)
        finally:
            self._done.set()


def gpu_summary(report: DoctorReport | None) -> dict[str, object]:
    """``{"present", "name", "cuda", "driver", "count"}``; ``cuda`` is the newest CUDA the
    driver supports."""
    driver = report.driver if report else None
    gpus = driver.gpus if driver else ()
    return {
        "present": bool(gpus),
        "name": "; ".join(dict.fromkeys(g.name for g in gpus)) or None,
        "cuda": driver.cuda_version if driver else None,
        "driver": driver.driver_version if driver else None,
        "count": len(gpus),
    }


def warnings(hardware: HardwareReport, devices: Mapping[str, str | None]) -> list[str]:
    """The doctor's warnings and errors, then each model (``role name`` → device) that runs on
    the CPU although a GPU is present."""
    report = hardware.report
    if report is None:
        return [f"hardware report failed: {hardware.error}" if hardware.error else NOT_READY]
    found = [
        f"{c.name}: {c.summary}" + (f" (fix: {c.fix})" if c.fix else "")
        for c in report.checks
        if c.status in ("warn", "error")
    ]
    if report.driver.gpus:
        found += [
            f"{model} runs on the CPU although a GPU is present"
            for model, device in devices.items()
            if device == "cpu"
        ]
    return found
