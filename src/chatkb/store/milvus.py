"""Milvus (Lite, standalone or cluster) through pymilvus' ``MilvusClient``.

Milvus has no multi-row transactions, so a document is written as a new *version*: its
chunk and window rows go in first, invisible, and the document row (one upsert) switches
readers to them; rows of other versions are deleted after. Readers keep only rows whose
version is their document's, so they see the old version or the new one, never a mix, and a
write that dies part-way leaves the previous version (its stray rows are removed by the next
write of that source). Needs ``pip install 'chatkb[milvus]'``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chatkb.errors import BackendUnavailableError, EmbedderMismatchError, NotFoundError
from chatkb.settings import MilvusSettings
from chatkb.store.backends import StoreLocation, server_name
from chatkb.store.base import Store

INSTALL_HINT = "install the Milvus client with: pip install 'chatkb[milvus]'"
COLLECTIONS = ("documents", "chunks", "windows")


def is_lite(uri: str) -> bool:
    """A Milvus Lite database is a local file; a server is an http(s)/tcp URI."""
    return urlsplit(uri).scheme not in ("http", "https", "tcp", "grpc", "unix")


class MilvusBackend:
    name = "milvus"

    def __init__(self, settings: MilvusSettings) -> None:
        self.settings = settings
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def locate(self, kb_name: str) -> StoreLocation:
        self._require_uri()
        return StoreLocation("milvus", self._recorded_uri(), server_name(kb_name))

    def _require_uri(self) -> None:
        if not self.settings.uri:
            raise BackendUnavailableError(
                "the milvus store is used but store.milvus.uri is empty; set "
                "CHATKB_STORE__MILVUS__URI to a Milvus Lite file path or http://host:19530"
            )

    def _recorded_uri(self) -> str:
        uri = self.settings.uri
        return str(Path(uri).expanduser().resolve()) if is_lite(uri) else uri

    def open(
        self, location: StoreLocation, directory: Path, dim: int, *, create: bool = False
    ) -> Store:
        from chatkb.store.milvus_store import MilvusStore

        store = MilvusStore(self.client(location.uri), location, dim)
        if create:
            store.create_collections()
        store.check_collections()
        return store

    def drop(self, location: StoreLocation, directory: Path) -> None:
        client = self.client(location.uri)
        for part in COLLECTIONS:
            name = f"{location.name}_{part}"
            with unavailable_as_error(location.uri):
                if client.has_collection(name):
                    client.drop_collection(name)

    def check(self) -> str:
        self._require_uri()
        uri = self._recorded_uri()
        with unavailable_as_error(uri):
            self.client(uri).list_collections()
        return uri

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def client(self, uri: str) -> Any:
        with self._lock:
            if uri not in self._clients:
                self._clients[uri] = self._connect(uri)
            return self._clients[uri]

    def _connect(self, uri: str) -> Any:
        try:
            from pymilvus import MilvusClient
        except ImportError:  # pragma: no cover - depends on the install
            raise BackendUnavailableError(
                f"the milvus store needs pymilvus; {INSTALL_HINT}"
            ) from None
        token = self.settings.token or "" if uri == self._recorded_uri() else ""
        with unavailable_as_error(uri):
            return MilvusClient(uri=uri, token=token, timeout=self.settings.timeout)


class unavailable_as_error:
    """Turn the client's connection failures into ``BackendUnavailableError`` naming the URI."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _: object
    ) -> None:
        if exc is None or isinstance(exc, (NotFoundError, EmbedderMismatchError)):
            return
        from pymilvus.exceptions import MilvusException

        if isinstance(exc, (MilvusException, ConnectionError, TimeoutError, OSError)):
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise BackendUnavailableError(
                f"cannot use Milvus at {self.uri}: {reason.strip().splitlines()[0]}; check that "
                "the server runs and store.milvus.uri / store.milvus.token are right (a Milvus "
                "Lite path must be a writable local file)"
            ) from None
