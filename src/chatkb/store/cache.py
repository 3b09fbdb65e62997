"""The embedding cache: vectors by the hash of the embedded text, in a local SQLite file per
knowledge base, whatever store holds the knowledge base.

Each embedding batch is committed as it finishes, so a killed ingest (or a store that went
away mid-file) resumes without re-embedding finished batches. A file's rows are discarded
once its document is written to the store, which then holds those vectors itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from chatkb._sqlite import Connections, transaction
from chatkb.deferred import deferred
from chatkb.embedders import Vectors

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

CACHE_FILE = "embed_cache.sqlite"
_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (text_hash TEXT PRIMARY KEY, vector BLOB NOT NULL)"


class VectorCache:
    def __init__(self, directory: Path) -> None:
        self.path = directory / CACHE_FILE
        self._connections = Connections(self.path)
        conn = self._connections.get()
        conn.execute(_SCHEMA)
        # Empty at open and not written since by this process: a lookup finds nothing, so it
        # is not made (one query a file, in an ingest after a complete one). Rows another
        # process puts meanwhile are missed; what that costs is embedding their texts again.
        self._empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM vectors)").fetchone()[0]

    def get(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if self._empty:
            return {}
        rows = self._connections.get().execute(
            "SELECT text_hash, vector FROM vectors WHERE text_hash IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(list(dict.fromkeys(text_hashes))),),
        )
        return {h: np.frombuffer(blob, dtype=np.float32) for h, blob in rows}

    def put(self, text_hashes: Sequence[str], vectors: Vectors) -> None:
        """Committed before returning: a crash after this keeps the batch."""
        rows = [
            (h, np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for h, v in zip(text_hashes, vectors, strict=True)
        ]
        self._empty = False
        with transaction(self._connections.get()) as conn:
            conn.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", rows)

    def discard(self, text_hashes: Iterable[str]) -> None:
        with transaction(self._connections.get()) as conn:
            conn.execute(
                "DELETE FROM vectors WHERE text_hash IN (SELECT value FROM json_each(?))",
                (json.dumps(list(text_hashes)),),
            )

    def clear(self) -> None:
        with transaction(self._connections.get()) as conn:
            conn.execute("DELETE FROM vectors")
        self._empty = True

    def close(self) -> None:
        self._connections.close()
