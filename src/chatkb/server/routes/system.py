"""``/api/health``, ``/api/version`` and ``/api/status`` (models, devices, store statistics)."""

from __future__ import annotations

from fastapi import APIRouter

from chatkb import __version__
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import HealthPublic, StatusPublic, VersionPublic

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health", response_model=HealthPublic)
def health() -> HealthPublic:
    """Liveness; needs no API key."""
    return HealthPublic(status="ok")


@router.get("/version", response_model=VersionPublic)
def version() -> VersionPublic:
    return VersionPublic(name="chatkb", version=__version__)


@router.get("/status", response_model=StatusPublic)
def status(state: StateDep, principal: PrincipalDep) -> StatusPublic:
    """What runs where: the embedder and its device, the LLM, store and job statistics."""
    settings = state.settings
    embedder = state.library.embedder(settings.embedder.name)
    totals = {"knowledge_bases": 0, "documents": 0, "chunks": 0, "bytes": 0}
    for name in state.readable_names(principal):
        stats = state.library.open(name).store.stats()
        totals["knowledge_bases"] += 1
        for key in ("documents", "chunks", "bytes"):
            totals[key] += stats[key]
    jobs = state.jobs.recent()
    llm = settings.llm
    return StatusPublic(
        version=__version__,
        embedder={"name": embedder.name, "device": embedder.device, "dim": embedder.dim},
        llm={
            "backend": llm.backend,
            "model": state.chat_model.name if state.chat_model else "extractive",
            "base_url": llm.base_url if state.chat_model else None,
        },
        store=totals,
        jobs={
            "running": sum(j.status == "running" for j in jobs),
            "queued": sum(j.status == "queued" for j in jobs),
        },
        auth=state.keys.enabled,
    )
