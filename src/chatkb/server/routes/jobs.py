"""``/api/jobs``: ingestion progress (polling and SSE) and cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from chatkb.server.auth import Principal
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.jobs import Job
from chatkb.server.schemas import JobPublic, JobsPublic
from chatkb.server.state import ServerState
from chatkb.server.streaming import sse, sse_response

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
POLL_SECONDS = 0.25


def _visible_job(state: ServerState, principal: Principal, job_id: str) -> Job:
    job = state.jobs.get(job_id)
    principal.require(job.kb, "read")
    return job


@router.get("", response_model=JobsPublic)
def list_jobs(state: StateDep, principal: PrincipalDep, kb: str | None = None) -> JobsPublic:
    """Recent and running jobs, newest first, optionally of one knowledge base."""
    jobs = [j for j in state.jobs.recent(kb) if principal.can(j.kb, "read")]
    jobs.sort(key=lambda j: j.created_at, reverse=True)
    data = [JobPublic.model_validate(j.to_json()) for j in jobs]
    return JobsPublic(data=data, count=len(data))


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job_id: str, state: StateDep, principal: PrincipalDep) -> JobPublic:
    """Poll a job: status, files done, the current file and its embedding progress."""
    return JobPublic.model_validate(_visible_job(state, principal, job_id).to_json())


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def job_events(job_id: str, state: StateDep, principal: PrincipalDep) -> StreamingResponse:
    """SSE: a ``progress`` event whenever the job changes, then one ``done`` event."""
    return sse_response(_events(_visible_job(state, principal, job_id)))


async def _events(job: Job) -> AsyncIterator[str]:
    last: dict[str, object] | None = None
    while True:
        snapshot = job.to_json()
        if snapshot != last:
            yield sse(snapshot, "done" if job.finished else "progress")
            last = snapshot
        if job.finished:
            return
        await anyio.sleep(POLL_SECONDS)


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: str, state: StateDep, principal: PrincipalDep) -> JobPublic:
    """Stop after the file being indexed now; finished files stay indexed."""
    job = _visible_job(state, principal, job_id)
    principal.require(job.kb, "write")
    return JobPublic.model_validate(state.jobs.cancel(job.id).to_json())
