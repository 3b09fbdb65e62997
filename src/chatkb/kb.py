"""Knowledge bases on disk: create, open, list, delete. Each records its own settings."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from chatkb.embedders import Embedder, make_embedder
from chatkb.errors import (
    AlreadyExistsError,
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
)
from chatkb.llm.prompts import PromptTemplate
from chatkb.settings import Settings
from chatkb.store.embedded import EmbeddedStore

_NAME = re.compile(r"^[\w][\w.\-]{0,63}$")
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

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def dense_profile(self) -> str:
        """What this KB's dense scores are cosines of: its embedder, and whether chunks are
        embedded as sentence windows (their cosines run higher; relevance.py fits each)."""
        return f"{self.embedder}+windows" if self.window_chars else self.embedder

    def prompt_template(self) -> PromptTemplate:
        """How answers from this knowledge base are prompted (chatkb.llm.prompts)."""
        return PromptTemplate(self.system_prompt, self.answer_language, self.citation_style)


class KnowledgeBase:
    """One knowledge base: its recorded config, its store, and (lazily) its embedder."""

    def __init__(self, directory: Path, config: KBConfig, library: Library) -> None:
        self.directory = directory
        self.config = config
        self.name = config.name
        self.store = EmbeddedStore(directory, config.dim)
        self._library = library

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

    def info(self) -> dict[str, object]:
        return {**self.config.to_json(), **self.store.stats()}


class Library:
    """All knowledge bases under ``Settings.kb_root``; shares embedders between them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.kb_root
        self._embedders: dict[str, Embedder] = {}
        self._open: dict[str, KnowledgeBase] = {}
        self._lock = threading.Lock()

    def embedder(self, name: str) -> Embedder:
        with self._lock:
            if name not in self._embedders:
                self._embedders[name] = make_embedder(name, self.settings.embedder)
            return self._embedders[name]

    def sibling(self, settings: Settings) -> Library:
        """A library under other settings that shares this one's loaded embedders."""
        other = Library(settings)
        other._embedders, other._lock = self._embedders, self._lock
        return other

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{CONFIG_FILE}"))

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
    ) -> KnowledgeBase:
        _check_name(name)
        if (self.root / name).exists():
            raise AlreadyExistsError(f"knowledge base {name!r} already exists")
        chunking = self.settings.chunking
        size = chunk_size or chunking.chunk_size
        overlap = chunking.chunk_overlap if chunk_overlap is None else chunk_overlap
        if overlap >= size:
            raise InvalidInputError(f"chunk overlap ({overlap}) must be below chunk size ({size})")
        model = self.embedder(embedder or self.settings.embedder.name)
        config = KBConfig(
            name=name,
            embedder=model.name,
            dim=model.dim,
            chunk_size=size,
            chunk_overlap=overlap,
            window_chars=chunking.window_chars if window_chars is None else window_chars,
            description=description,
            created_at=_now(),
            **_prompt_fields(prompt or PromptTemplate()),
        )
        # Build in a hidden folder and rename, so a half-created KB is never listed.
        staging = self.root / f".creating-{name}-{time.time_ns()}"
        staging.mkdir(parents=True)
        EmbeddedStore(staging, config.dim).close()
        _write_config(staging, config)
        staging.rename(self.root / name)
        return self.open(name)

    def open(self, name: str) -> KnowledgeBase:
        with self._lock:
            if name in self._open and (self.root / name / CONFIG_FILE).exists():
                return self._open[name]
        directory = self.root / name
        config_path = directory / CONFIG_FILE
        if not _NAME.match(name) or not config_path.exists():
            known = ", ".join(self.names()) or "none yet; create one with: chatkb kb create NAME"
            raise NotFoundError(f"no knowledge base named {name!r} (existing: {known})")
        config = KBConfig(**json.loads(config_path.read_text(encoding="utf-8")))
        kb = KnowledgeBase(directory, config, self)
        with self._lock:
            self._open[name] = kb
        return kb

    def update_description(self, name: str, description: str) -> KnowledgeBase:
        kb = self.open(name)
        config = KBConfig(**{**kb.config.to_json(), "description": description})  # type: ignore[arg-type]
        _write_config(kb.directory, config)
        kb.config = config
        return kb

    def update_prompt(self, name: str, prompt: PromptTemplate) -> KnowledgeBase:
        """Replace the knowledge base's answer prompt settings."""
        kb = self.open(name)
        config = KBConfig(**{**kb.config.to_json(), **_prompt_fields(prompt)})  # type: ignore[arg-type]
        _write_config(kb.directory, config)
        kb.config = config
        return kb

    def delete(self, name: str) -> None:
        kb = self.open(name)
        kb.store.close()
        with self._lock:
            self._open.pop(name, None)
        # Rename first: the KB disappears at once even if removing its files takes a while.
        trash = self.root / f".deleting-{name}-{time.time_ns()}"
        kb.directory.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInputError(
            f"invalid knowledge base name {name!r}: use up to 64 letters, digits, '_', '-' or "
            "'.', starting with a letter or digit"
        )


def _prompt_fields(prompt: PromptTemplate) -> dict[str, str]:
    return {
        "system_prompt": prompt.system_prompt,
        "answer_language": prompt.answer_language,
        "citation_style": prompt.citation_style,
    }


def _write_config(directory: Path, config: KBConfig) -> None:
    tmp = directory / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(directory / CONFIG_FILE)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
