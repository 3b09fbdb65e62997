"""The ingestion jobs on disk (``$CHATKB_HOME/jobs.sqlite``), so that accepted work survives
a restart.

A job is written when it is accepted and again whenever its status changes. When the server
starts, jobs that were queued or running are queued again under the same id (ingestion is
idempotent: files already written count as unchanged, and each document is replaced in one
write, so a job cut short by a kill or a shutdown simply runs again). Finished jobs are
kept for polling, the newest ``keep`` of them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from chatkb._sqlite import Connections, transaction
from chatkb.ingest import FileOutcome, SourceFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kb TEXT NOT NULL,
    kind TEXT NOT NULL,
    force INTEGER NOT NULL,
    files TEXT NOT NULL,
    status TEXT NOT NULL,
    outcomes TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (created_at);
"""
UNFINISHED = ("queued", "running")


class JobJournal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = Connections(path, synchronous="FULL")
        self._connections.get().executescript(SCHEMA)

    def save(self, job: Any) -> None:
        """Write ``job`` (a ``chatkb.server.jobs.Job``) as it is now."""
        files = [[str(f.path), f.source] for f in job.files]
        row = (
            job.id, job.kb, job.kind, int(job.force), json.dumps(files), job.status,
            json.dumps([o.to_json() for o in job.outcomes]), job.error, job.created_at,
            job.finished_at,
        )  # fmt: skip
        with transaction(self._connections.get()) as conn:
            conn.execute("INSERT OR REPLACE INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?)", row)

    def load(self, keep: int) -> list[dict[str, Any]]:
        """Every unfinished job and the newest ``keep`` finished ones, oldest first, as the
        fields of a ``Job``; older finished jobs are deleted."""
        conn = self._connections.get()
        conn.row_factory = sqlite3.Row
        marks = ",".join("?" * len(UNFINISHED))
        with transaction(conn):
            conn.execute(
                f"DELETE FROM jobs WHERE status NOT IN ({marks}) AND id NOT IN (SELECT id FROM "
                f"jobs WHERE status NOT IN ({marks}) ORDER BY created_at DESC LIMIT ?)",
                (*UNFINISHED, *UNFINISHED, keep),
            )
            rows = conn.execute("SELECT * FROM jobs ORDER BY created_at").fetchall()
        conn.row_factory = None
        return [_fields(row) for row in rows]

    def forget(self, job_ids: list[str]) -> None:
        """Delete finished jobs no longer kept for polling."""
        with transaction(self._connections.get()) as conn:
            conn.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in job_ids])

    def close(self) -> None:
        self._connections.close()


def _fields(row: sqlite3.Row) -> dict[str, Any]:
    files = [SourceFile(Path(path), source) for path, source in json.loads(row["files"])]
    outcomes = [FileOutcome(**o) for o in json.loads(row["outcomes"])]
    return {
        "id": row["id"],
        "kb": row["kb"],
        "kind": row["kind"],
        "force": bool(row["force"]),
        "files": files,
        "sources": [f.source for f in files],
        "status": row["status"],
        "outcomes": outcomes,
        "files_done": len(outcomes),
        "error": row["error"],
        "created_at": row["created_at"],
        "finished_at": row["finished_at"],
    }
