"""The store registry and the embedded backend; remote backends import their client lazily."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from chatkb.registry import Registry
from chatkb.settings import EmbeddedStoreSettings, Settings
from chatkb.store.base import Store
from chatkb.store.dense import DenseTuning
from chatkb.store.embedded import EmbeddedStore


@dataclass(frozen=True)
class StoreLocation:
    """Where a knowledge base's store lives; recorded in ``kb.json`` (no credentials)."""

    backend: str = "embedded"
    uri: str = ""  # the server or file, without password; "" = the KB's own folder
    name: str = ""  # collection / table prefix on the server

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> StoreLocation:
        """kb.json files from before stores were recorded hold none: they are embedded."""
        return cls(**data) if isinstance(data, dict) and data else cls()


class StoreBackend(Protocol):
    name: str

    def locate(self, kb_name: str) -> StoreLocation:
        """A fresh location for a new knowledge base (nothing is created yet)."""

    def open(
        self, location: StoreLocation, directory: Path, dim: int, *, create: bool = False
    ) -> Store:
        """The store at ``location``; ``create`` makes it first. Refuses another ``dim``."""

    def drop(self, location: StoreLocation, directory: Path) -> None:
        """Remove the store's data; a store that is not there is no error."""

    def check(self) -> str:
        """Where it connects, after checking it can (``BackendUnavailableError`` if not)."""

    def close(self) -> None:
        """Release connections shared by the backend's stores."""


STORES: Registry[StoreBackend] = Registry("store")

# Files of an embedded store inside a knowledge base's folder.
EMBEDDED_FILES = (
    "catalog.sqlite",
    "catalog.sqlite-wal",
    "catalog.sqlite-shm",
    # Derived files of the dense index before it followed the log (removed as strays).
    "dense.npy",
    "dense_keys.npy",
    "dense.json",
)
# The dense index's checkpoints and the keyword index (derived, rebuilt from the catalog
# when absent).
EMBEDDED_DERIVED = ("dense", "keywords")


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, settings: EmbeddedStoreSettings | None = None) -> None:
        settings = settings or EmbeddedStoreSettings()
        self.tuning = DenseTuning(settings.exact_max_rows, settings.probes)
        self.keyword_index_min_chunks = settings.keyword_index_min_chunks

    def locate(self, kb_name: str) -> StoreLocation:
        return StoreLocation("embedded")

    def open(
        self, location: StoreLocation, directory: Path, dim: int, *, create: bool = False
    ) -> Store:
        return EmbeddedStore(
            directory, dim, self.tuning, keyword_index_min_chunks=self.keyword_index_min_chunks
        )

    def drop(self, location: StoreLocation, directory: Path) -> None:
        remove_embedded(directory)

    def check(self) -> str:
        return "a SQLite file in each knowledge base's folder"

    def close(self) -> None:
        """Each embedded store holds its own connections."""


def remove_embedded(directory: Path) -> None:
    """Every file of an embedded store in ``directory``."""
    for name in EMBEDDED_FILES:
        (directory / name).unlink(missing_ok=True)
    for derived in EMBEDDED_DERIVED:
        shutil.rmtree(directory / derived, ignore_errors=True)


def server_name(kb_name: str) -> str:
    """A collection/table prefix for a knowledge base: ASCII, and new for every creation, so
    a knowledge base made again under an old name never meets the old one's rows."""
    ascii_part = re.sub(r"[^a-z0-9]+", "_", kb_name.lower()).strip("_")[:32]
    return f"chatkb_{ascii_part}_{os.urandom(4).hex()}"


def make_backend(name: str, settings: Settings) -> StoreBackend:
    return STORES.get(name)(settings)


@STORES.register("embedded")
def _embedded(settings: Settings) -> StoreBackend:
    return EmbeddedBackend(settings.store.embedded)


@STORES.register("pgvector")
def _pgvector(settings: Settings) -> StoreBackend:
    from chatkb.store.pgvector import PgvectorBackend

    return PgvectorBackend(settings.store.pgvector)


@STORES.register("milvus")
def _milvus(settings: Settings) -> StoreBackend:
    from chatkb.store.milvus import MilvusBackend

    return MilvusBackend(settings.store.milvus)
