"""Every registered store backend, each as a factory of fresh, empty stores."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from _store_servers import MakeStore, milvus_uri, pg_dsn  # noqa: F401  (session fixtures)
from chatkb.settings import Settings
from chatkb.store import STORES, Store, StoreBackend, StoreLocation, make_backend

_counter = itertools.count()


def backend_settings(name: str, request: pytest.FixtureRequest) -> Settings:
    """Settings that point ``name`` at the server the tests started for it."""
    store: dict[str, object] = {"backend": name}
    if name == "pgvector":
        store["pgvector"] = {"dsn": request.getfixturevalue("pg_dsn")}
    elif name == "milvus":
        store["milvus"] = {"uri": request.getfixturevalue("milvus_uri")}
    return Settings(store=store)  # type: ignore[arg-type]


# The embedded store once more, its keyword search through the derived keyword index at
# every size (the tier large knowledge bases use; docs/retrieval.md#the-keyword-index).
KEYWORD_TIER = "embedded-keyword-index"


@pytest.fixture(params=[*STORES.names(), KEYWORD_TIER])
def backend(request: pytest.FixtureRequest) -> Iterator[StoreBackend]:
    if request.param == KEYWORD_TIER:
        settings = Settings(store={"embedded": {"keyword_index_min_chunks": 1}})  # type: ignore[arg-type]
        made = make_backend("embedded", settings)
    else:
        made = make_backend(request.param, backend_settings(request.param, request))
    yield made
    made.close()


@pytest.fixture
def make_store(backend: StoreBackend, tmp_path: Path) -> Iterator[MakeStore]:
    """``make_store(dim=8)``: a new store on the backend; all are dropped afterwards."""
    made: list[tuple[Store, StoreLocation, Path]] = []

    def make(dim: int = 8) -> Store:
        directory = tmp_path / f"kb{next(_counter)}"
        directory.mkdir()
        location = backend.locate("contract")
        store = backend.open(location, directory, dim, create=True)
        made.append((store, location, directory))
        return store

    yield make
    for store, location, directory in made:
        store.close()
        backend.drop(location, directory)
