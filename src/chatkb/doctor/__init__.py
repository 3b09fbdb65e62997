"""``chatkb doctor``: what this machine has, where each configured model runs, what is wrong.

``collect_report(settings)`` gathers everything (the server calls it at startup and logs
``render.summary_lines(report)``); modules: ``probe_*`` collect, ``nvidia`` parses
nvidia-smi, ``cuda_compat`` and ``decide`` judge, ``render`` prints, ``servers`` picks the
model servers to probe. The device rule every local model follows is ``chatkb.devices``; the
server probes themselves are ``chatkb.llm.servers``.
"""

from __future__ import annotations

from chatkb.doctor.decide import decide
from chatkb.doctor.probe_gpu import collect_driver
from chatkb.doctor.probe_models import (
    configured_embedders,
    probe_embedder,
    probe_llm,
    probe_reranker,
)
from chatkb.doctor.probe_runtimes import collect_runtimes
from chatkb.doctor.probe_system import collect_system
from chatkb.doctor.report import Check, DoctorReport, ModelInfo
from chatkb.doctor.servers import configured_servers, probe
from chatkb.kb import Library
from chatkb.settings import Settings
from chatkb.store.health import StoreCheck, check_stores

__all__ = ["Check", "DoctorReport", "collect_report"]


def collect_report(settings: Settings, *, load_models: bool = True) -> DoctorReport:
    """Everything ``chatkb doctor`` shows. ``load_models=False`` skips loading the models."""
    driver = collect_driver()
    runtimes = collect_runtimes()
    servers = tuple(probe(target) for target in configured_servers(settings))
    models: tuple[ModelInfo, ...] = ()
    if load_models:
        embedders = [probe_embedder(name, settings) for name in configured_embedders(settings)]
        reranker = probe_reranker(settings)
        models = (*embedders, *([reranker] if reranker else []), probe_llm(settings, servers))
    checks = decide(driver, runtimes, models, servers, llm_backend=settings.llm.backend)
    library = Library(settings)
    try:
        stores = tuple(check_stores(library))
    finally:
        library.close()
    checks = (*checks, *(store_check(s) for s in stores))
    return DoctorReport(
        system=collect_system(settings.home),
        driver=driver,
        runtimes=runtimes,
        models=models,
        servers=servers,
        checks=checks,
        stores=stores,
    )


def store_check(store: StoreCheck) -> Check:
    name = f"store {store.backend}"
    used = f"{store.knowledge_bases} knowledge base(s)"
    if store.reachable:
        return Check(name, "ok", f"reachable: {store.where} ({used})")
    return Check(
        name,
        "error",
        f"{store.error} ({used})",
        "start the server or correct the [store] settings (docs/backends.md)",
    )
