"""The change log the dense index follows, kept by the catalog itself.

Triggers append a chunk's key to ``dense_log`` whenever its vectors may have changed (the
chunk was inserted, deleted, or its text replaced), inside the very transaction of the write.
So the log can never disagree with the catalog, whichever code path wrote, and an index at log
position ``seq`` is brought up to date by re-reading only the chunks logged after ``seq``.
Each re-read takes the catalog's current truth, so applying an entry twice is harmless.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from chatkb.deferred import deferred
from chatkb.store.ivf import Floats, Ints

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

SCHEMA = """
CREATE TABLE IF NOT EXISTS dense_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, chunk INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS dense_log_insert AFTER INSERT ON chunks
    BEGIN INSERT INTO dense_log(chunk) VALUES (new.id); END;
CREATE TRIGGER IF NOT EXISTS dense_log_delete AFTER DELETE ON chunks
    BEGIN INSERT INTO dense_log(chunk) VALUES (old.id); END;
CREATE TRIGGER IF NOT EXISTS dense_log_update AFTER UPDATE OF text_hash ON chunks
    BEGIN INSERT INTO dense_log(chunk) VALUES (new.id); END;
"""

# Every vector row of the chunks named in the JSON array parameter: a chunk's windows, or
# the chunk itself when it is embedded whole.
_ROWS_OF = (
    "SELECT c.id, v.vector FROM chunks c JOIN vectors v ON v.text_hash = c.text_hash "
    "WHERE c.id IN (SELECT value FROM json_each(?)) "
    "AND NOT EXISTS (SELECT 1 FROM windows w WHERE w.chunk = c.id) "
    "UNION ALL SELECT w.chunk, v.vector FROM windows w "
    "JOIN vectors v ON v.text_hash = w.text_hash WHERE w.chunk IN (SELECT value FROM json_each(?))"
)
_ALL_ROWS = (
    "SELECT c.id, v.vector FROM chunks c JOIN vectors v ON v.text_hash = c.text_hash "
    "WHERE NOT EXISTS (SELECT 1 FROM windows w WHERE w.chunk = c.id) "
    "UNION ALL SELECT w.chunk, v.vector FROM windows w JOIN vectors v ON v.text_hash = w.text_hash"
)
_KEYS_PER_QUERY = 5000


def head(conn: sqlite3.Connection) -> int:
    """The position of the last write (0 before any)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'dense_log'").fetchone()
    return int(row[0]) if row else 0


def floor(conn: sqlite3.Connection) -> int:
    """Entries up to here were trimmed: an index older than this cannot follow the log."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'dense_log_floor'").fetchone()
    return int(row[0]) if row else 0


def touched(conn: sqlite3.Connection, after: int, upto: int) -> Ints:
    rows = conn.execute(
        "SELECT DISTINCT chunk FROM dense_log WHERE seq > ? AND seq <= ?", (after, upto)
    )
    return np.fromiter((r[0] for r in rows), dtype=np.int64)


def rows_of(conn: sqlite3.Connection, keys: Ints, dim: int) -> tuple[Ints, Floats]:
    """The current vector rows of these chunks (none for a chunk that is gone)."""
    out_keys: list[Ints] = []
    out_vectors: list[Floats] = []
    for start_at in range(0, len(keys), _KEYS_PER_QUERY):
        part = json.dumps(keys[start_at : start_at + _KEYS_PER_QUERY].tolist())
        found = conn.execute(_ROWS_OF, (part, part)).fetchall()
        if found:
            out_keys.append(np.fromiter((r[0] for r in found), np.int64, len(found)))
            out_vectors.append(_matrix([r[1] for r in found], dim))
    if not out_keys:
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    return np.concatenate(out_keys), np.concatenate(out_vectors)


def all_rows(
    conn: sqlite3.Connection, dim: int, batch: int = 50_000
) -> Iterator[tuple[Ints, Floats]]:
    """Every vector row, in batches (memory stays at one batch)."""
    cursor = conn.execute(_ALL_ROWS)
    while found := cursor.fetchmany(batch):
        yield (
            np.fromiter((r[0] for r in found), np.int64, len(found)),
            _matrix([r[1] for r in found], dim),
        )


def count_rows(conn: sqlite3.Connection) -> int:
    whole = conn.execute(
        "SELECT count(*) FROM chunks c "
        "WHERE NOT EXISTS (SELECT 1 FROM windows w WHERE w.chunk = c.id)"
    ).fetchone()[0]
    windows = conn.execute("SELECT count(*) FROM windows").fetchone()[0]
    return int(whole) + int(windows)


def sample(conn: sqlite3.Connection, size: int, dim: int) -> Floats:
    """About ``size`` stored vectors, spread evenly over the table (for training)."""
    last = conn.execute("SELECT max(rowid) FROM vectors").fetchone()[0] or 0
    step = max(1, last // max(size, 1))
    found = conn.execute(
        "SELECT vector FROM vectors WHERE rowid % ? = 0 LIMIT ?", (step, size)
    ).fetchall()
    return _matrix([r[0] for r in found], dim)


def trim(conn: sqlite3.Connection, upto: int) -> None:
    """Forget entries up to ``upto`` (a published checkpoint holds them)."""
    conn.execute("DELETE FROM dense_log WHERE seq <= ?", (upto,))
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('dense_log_floor', ?) ON CONFLICT(key) "
        "DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
        (str(upto),),
    )


def _matrix(blobs: list[bytes], dim: int) -> Floats:
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)
