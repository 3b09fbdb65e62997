"""Background ingestion: one queue and one worker thread per knowledge base.

Jobs for the same knowledge base run one after another (the store takes one writer at a
time anyway); searches and chats never wait for them. Each job keeps its progress, read by
the polling endpoint and the SSE stream, and can be cancelled between files. With a
journal (``job_journal``) accepted jobs survive a restart: a shutdown or a kill leaves
them queued, and the next start runs them again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from chatkb.errors import ChatkbError, NotFoundError
from chatkb.ingest import FileOutcome, Progress, SourceFile, ingest
from chatkb.kb import Library
from chatkb.server.job_journal import UNFINISHED, JobJournal
from chatkb.settings import Settings

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: tuple[JobStatus, ...] = ("done", "failed", "cancelled")
JOBS_KEPT = 200  # finished jobs remembered for polling; older ones are forgotten


@dataclass
class Job:
    """One ingestion run; its fields change as it runs (read them through ``to_json``)."""

    id: str
    kb: str
    kind: str
    sources: list[str]
    status: JobStatus = "queued"
    files_done: int = 0
    current: str | None = None
    embedded: int = 0
    embed_total: int = 0
    outcomes: list[FileOutcome] = field(default_factory=list)
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done_event: threading.Event = field(default_factory=threading.Event)
    files: list[SourceFile] = field(default_factory=list, repr=False)
    force: bool = False  # index unchanged files again (re-index)
    interrupted: bool = False  # stopped by a shutdown, not a user: resumed at the next start

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_json(self) -> dict[str, object]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return {
            "id": self.id,
            "kb": self.kb,
            "kind": self.kind,
            "status": self.status,
            "files_total": len(self.sources),
            "files_done": self.files_done,
            "current": self.current,
            "embedded": self.embedded,
            "embed_total": self.embed_total,
            "counts": counts,
            "files": [o.to_json() for o in self.outcomes],
            "error": self.error,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
        }


class _JobProgress(Progress):
    def __init__(self, job: Job) -> None:
        self.job = job

    def file_started(self, source: str) -> None:
        self.job.current, self.job.embedded, self.job.embed_total = source, 0, 0

    def embedded(self, count: int, total: int) -> None:
        self.job.embedded, self.job.embed_total = count, total

    def file_done(self, outcome: FileOutcome) -> None:
        self.job.outcomes.append(outcome)
        self.job.files_done += 1


class JobQueue:
    """Per-knowledge-base FIFO queues served by lazily started worker threads."""

    def __init__(
        self, library: Library, settings: Settings, journal: JobJournal | None = None
    ) -> None:
        self.library = library
        self.settings = settings
        self.journal = journal
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, queue.Queue[Job | None]] = {}
        self._workers: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(
        self,
        kb: str,
        files: list[SourceFile],
        *,
        kind: str = "ingest",
        force: bool = False,
    ) -> Job:
        """Queue ``files`` for ``kb``; ``force`` indexes unchanged files again (re-index)."""
        sources = [f.source for f in files]
        job = Job(uuid.uuid4().hex[:16], kb, kind, sources, files=list(files), force=force)
        with self._lock:
            self._forget_old()
            queue_ = self._queue_for(kb)
            self._save(job)  # accepted only once it is on disk
            self._jobs[job.id] = job
            queue_.put(job)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r}; finished jobs are kept for a while only")
        return job

    def recent(self, kb: str | None = None) -> list[Job]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [j for j in jobs if kb is None or j.kb == kb]

    def active(self, kb: str) -> list[Job]:
        return [j for j in self.recent(kb) if not j.finished]

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel_event.set()
        if job.status == "queued":
            self._finish(job, "cancelled")
        return job

    def cancel_all(self, kb: str, timeout: float = 30.0) -> None:
        """Cancel every job of ``kb`` and wait for the running one to stop."""
        for job in self.active(kb):
            self.cancel(job.id)
        for job in self.active(kb):
            job.done_event.wait(timeout)

    def open(self) -> None:
        """Accept jobs (again, after ``close``: the app may be started more than once), and
        queue again the journal's jobs that a shutdown or a kill left unfinished."""
        with self._lock:
            self._closed = False
            if self.journal is None:
                return
            for fields in self.journal.load(JOBS_KEPT):
                known = self._jobs.get(fields["id"])
                if known is not None and not known.interrupted:
                    continue
                if fields["status"] not in UNFINISHED:
                    self._jobs[fields["id"]] = Job(**fields)
                    continue
                fields.update(status="queued", outcomes=[], files_done=0)
                job = Job(**fields)
                log.info("resuming ingest job %s for %s", job.id, job.kb)
                self._jobs[job.id] = job
                self._queue_for(job.kb).put(job)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            jobs = [j for j in self._jobs.values() if not j.finished]
            workers = list(self._workers.values())
            for q in self._queues.values():
                q.put(None)
            self._queues.clear()
            self._workers.clear()
        for job in jobs:  # stopped between files; left queued on disk for the next start
            job.interrupted = True
            job.cancel_event.set()
        for worker in workers:
            worker.join(timeout=10)
        if self.journal is not None:
            self.journal.close()

    def _queue_for(self, kb: str) -> queue.Queue[Job | None]:
        if self._closed:
            raise ChatkbError("the server is shutting down; try again in a moment")
        if kb not in self._queues:
            self._queues[kb] = queue.Queue()
        worker = self._workers.get(kb)
        if worker is None or not worker.is_alive():
            worker = threading.Thread(
                target=self._work, args=(self._queues[kb],), name=f"ingest-{kb}", daemon=True
            )
            self._workers[kb] = worker
            worker.start()
        return self._queues[kb]

    def _work(self, jobs: queue.Queue[Job | None]) -> None:
        while (job := jobs.get()) is not None:
            if job.finished:  # cancelled while queued
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        job.status = "running"
        self._save(job)
        try:
            kb = self.library.open(job.kb)
            ingest(
                kb,
                job.files,
                self.settings,
                progress=_JobProgress(job),
                should_stop=job.cancel_event.is_set,
                force=job.force,
            )
        except ChatkbError as exc:
            job.error = exc.message
        except Exception as exc:  # a bug must not kill the worker: report it on the job
            log.exception("ingest job %s failed", job.id)
            job.error = f"internal error ({type(exc).__name__}); the server log has the details"
        job.current = None
        status: JobStatus = "failed" if job.error else "done"
        self._finish(job, "cancelled" if job.cancel_event.is_set() else status)

    def _finish(self, job: Job, status: JobStatus) -> None:
        if job.interrupted:  # a shutdown: still queued, for the next start
            job.status, job.current = "queued", None
            job.done_event.set()
            return
        job.status = status
        job.finished_at = time.time()
        self._save(job)
        job.done_event.set()

    def _save(self, job: Job) -> None:
        if self.journal is not None:
            self.journal.save(job)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.finished]
        old = sorted(finished, key=lambda j: j.created_at)[: max(0, len(finished) - JOBS_KEPT)]
        for job in old:
            del self._jobs[job.id]
        if old and self.journal is not None:
            self.journal.forget([job.id for job in old])
