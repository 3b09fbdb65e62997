"""PostgreSQL + pgvector: one set of tables per knowledge base, one transaction per document.

Vectors sit in an HNSW index (cosine); keywords are chatkb's own tokens in a ``tsvector``
column with a GIN index, ranked with the same BM25 as the embedded store (k1 1.2, b 0.75),
computed in SQL from the stored token arrays. Needs ``pip install 'chatkb[pgvector]'``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from chatkb.errors import BackendUnavailableError, EmbedderMismatchError, NotFoundError
from chatkb.settings import PgvectorSettings
from chatkb.store.backends import StoreLocation, server_name
from chatkb.store.base import Store

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

INSTALL_HINT = "install the PostgreSQL client with: pip install 'chatkb[pgvector]'"


def redact(dsn: str) -> str:
    """The DSN without its password, fit for kb.json, logs and error messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the install
        raise BackendUnavailableError(f"the pgvector store needs psycopg; {INSTALL_HINT}") from None
    return psycopg


class PgvectorBackend:
    name = "pgvector"

    def __init__(self, settings: PgvectorSettings) -> None:
        self.settings = settings
        self._pools: dict[str, ConnectionPool[psycopg.Connection[tuple[Any, ...]]]] = {}
        self._lock = threading.Lock()

    def locate(self, kb_name: str) -> StoreLocation:
        self._require_dsn()
        return StoreLocation("pgvector", redact(self.settings.dsn), server_name(kb_name))

    def _require_dsn(self) -> None:
        if not self.settings.dsn:
            raise BackendUnavailableError(
                "the pgvector store is used but store.pgvector.dsn is empty; set "
                "CHATKB_STORE__PGVECTOR__DSN=postgresql://user:password@host:5432/db"
            )

    def open(
        self, location: StoreLocation, directory: Path, dim: int, *, create: bool = False
    ) -> Store:
        from chatkb.store.pgvector_store import PgvectorStore

        store = PgvectorStore(self, location, dim)
        if create:
            store.create_tables()
        store.check_tables()
        return store

    def drop(self, location: StoreLocation, directory: Path) -> None:
        with self.connection(location.uri) as conn:
            for table in ("windows", "chunks", "documents"):
                conn.execute(f"DROP TABLE IF EXISTS {location.name}_{table} CASCADE")

    def check(self) -> str:
        self._require_dsn()
        with self.connection(redact(self.settings.dsn)) as conn:
            conn.execute("SELECT 1")
        return redact(self.settings.dsn)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def _dsn(self, uri: str) -> str:
        """The configured DSN (with its password) when it points where ``uri`` says."""
        if self.settings.dsn and redact(self.settings.dsn) == uri:
            return self.settings.dsn
        return uri

    def _pool(self, uri: str) -> ConnectionPool[psycopg.Connection[tuple[Any, ...]]]:
        with self._lock:
            if uri not in self._pools:
                self._pools[uri] = self._new_pool(uri)
            return self._pools[uri]

    def _new_pool(self, uri: str) -> ConnectionPool[psycopg.Connection[tuple[Any, ...]]]:
        pg = _psycopg()
        from psycopg_pool import ConnectionPool

        dsn = self._dsn(uri)
        try:  # one direct attempt first: a clear error now rather than a pool timeout later
            pg.connect(dsn, connect_timeout=int(self.settings.timeout)).close()
        except pg.Error as exc:
            raise _unavailable(uri, exc) from None
        pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=self.settings.pool_size,
            timeout=self.settings.timeout,
            open=True,
            name=f"chatkb {uri}",
        )
        return pool

    @contextmanager
    def connection(self, uri: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A pooled connection in a transaction, committed when the block ends."""
        pg = _psycopg()
        try:
            with self._pool(uri).connection() as conn:
                yield conn
        except pg.OperationalError as exc:
            raise _unavailable(uri, exc) from None


def _unavailable(uri: str, exc: Exception) -> BackendUnavailableError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BackendUnavailableError(
        f"cannot use PostgreSQL at {uri}: {reason}; check that the server runs, that "
        "store.pgvector.dsn has the right host, port, user and password, and that the "
        "database exists"
    )


def check_dimension(location: StoreLocation, found: int | None, dim: int) -> None:
    if found is None:
        raise NotFoundError(
            f"no chatkb tables {location.name}_* at {location.uri}; the knowledge base's "
            "store was removed or the DSN points at another database"
        )
    if found != dim:
        raise EmbedderMismatchError(
            f"the store {location.name} at {location.uri} holds {found}-d vectors but the "
            f"knowledge base records {dim}-d; it belongs to another knowledge base"
        )
