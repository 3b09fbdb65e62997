"""``/api/health``, ``/api/version`` and ``/api/status`` (models, devices, GPU, warnings,
store statistics)."""

from __future__ import annotations

from fastapi import APIRouter

from chatkb import __version__
from chatkb.errors import ChatkbError
from chatkb.server import hardware
from chatkb.server.auth import Principal
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import (
    GpuPublic,
    HealthPublic,
    StatusPublic,
    StoreHealthPublic,
    VersionPublic,
)
from chatkb.server.state import ServerState

router = APIRouter(prefix="/api", tags=["system"])
# The hardware report is collected at startup; a status page opened at once waits this long.
REPORT_WAIT_S = 10.0


@router.get("/health", response_model=HealthPublic)
def health(state: StateDep) -> HealthPublic:
    """Liveness, and whether each configured store can be reached; needs no API key, so it
    names backends only (``chatkb doctor`` shows where each is and why it failed)."""
    checks = state.store_health.get(state.library)
    stores = [StoreHealthPublic(backend=c.backend, reachable=c.reachable) for c in checks]
    status = "ok" if all(c.reachable for c in checks) else "degraded"
    return HealthPublic(status=status, stores=stores)


@router.get("/version", response_model=VersionPublic)
def version() -> VersionPublic:
    return VersionPublic(name="chatkb", version=__version__)


@router.get("/status", response_model=StatusPublic)
def status(state: StateDep, principal: PrincipalDep) -> StatusPublic:
    """What runs where: the embedder and the LLM with their devices, the GPU, warnings (a
    model on the CPU while a GPU is present…), store and job statistics."""
    report = state.hardware.wait(REPORT_WAIT_S)
    embedder, llm = _embedder(state), _llm(state)
    devices = {
        f"embedder {embedder['name']}": _text(embedder.get("device")),
        f"llm {llm['model']}": _text(llm.get("device")),
    }
    problems = [f"embedder: {embedder['error']}"] if "error" in embedder else []
    jobs = state.jobs.recent()
    return StatusPublic(
        version=__version__,
        embedder=embedder,
        llm=llm,
        store=_store_totals(state, principal),
        jobs={
            "running": sum(j.status == "running" for j in jobs),
            "queued": sum(j.status == "queued" for j in jobs),
        },
        auth=state.keys.enabled,
        gpu=GpuPublic.model_validate(hardware.gpu_summary(report)),
        warnings=problems + hardware.warnings(state.hardware, devices),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _embedder(state: ServerState) -> dict[str, object]:
    """The default embedder (loaded now if no request has loaded it yet)."""
    settings = state.settings.embedder
    backend, _, model = settings.name.partition(":")
    info: dict[str, object] = {"name": settings.name, "model": model or settings.model or backend}
    try:
        embedder = state.library.embedder(settings.name)
    except ChatkbError as exc:  # the status page must show this, not fail
        return {**info, "device": None, "dim": None, "error": exc.message}
    return {**info, "name": embedder.name, "device": embedder.device, "dim": embedder.dim}


def _llm(state: ServerState) -> dict[str, object]:
    models = state.chat_models
    chat = models.default
    return {
        "backend": state.settings.llm.backend,
        "name": models.backend,
        "model": chat.name if chat else "extractive",
        "device": models.device,
        "base_url": getattr(chat, "base_url", None) if chat else None,
    }


def _store_totals(state: ServerState, principal: Principal) -> dict[str, int]:
    totals = {"knowledge_bases": 0, "documents": 0, "chunks": 0, "bytes": 0}
    for name in state.readable_names(principal):
        stats = state.library.open(name).stats().to_json()
        totals["knowledge_bases"] += 1
        for key in ("documents", "chunks", "bytes"):
            totals[key] += stats[key]
    return totals
