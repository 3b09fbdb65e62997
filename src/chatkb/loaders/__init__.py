"""Loaders by file extension. Adding a format = one module that calls ``register_loader``."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from chatkb.errors import ChatkbError, LoadError
from chatkb.loaders.base import Loader, LoaderOptions
from chatkb.models import LoadedDocument
from chatkb.registry import Registry

__all__ = ["LOADERS", "Loader", "LoaderOptions", "load_file", "register_loader", "supported"]

log = logging.getLogger(__name__)

LOADERS: Registry[Loader] = Registry("loader")
L = TypeVar("L")

# Imported for their registrations; each keeps its heavy imports inside ``load``.
_BUILTIN_MODULES = (
    "text", "html", "pdf", "docx", "tabular", "jsonfile",
    "pptx", "spreadsheet", "epub", "image", "eml", "odt", "rtf", "notebook", "source",
)  # fmt: skip
_builtins_imported = False


def register_loader(*extensions: str) -> Callable[[type[L]], type[L]]:
    """Class decorator: ``@register_loader(".txt", ".text")``."""

    def decorate(cls: type[L]) -> type[L]:
        for extension in extensions:
            LOADERS.register(extension.lower())(cls)  # type: ignore[arg-type]
        return cls

    return decorate


def _import_builtins() -> None:
    global _builtins_imported
    if _builtins_imported:
        return
    _builtins_imported = True
    for name in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"chatkb.loaders.{name}")
        except ImportError as exc:  # a missing optional library disables one format only
            log.warning("loader %s unavailable: %s", name, exc)


def supported() -> list[str]:
    """File extensions that have a loader, e.g. ``[".csv", ".docx", ...]``."""
    _import_builtins()
    return LOADERS.names()


def load_file(path: Path, options: LoaderOptions | None = None) -> LoadedDocument:
    """Load one file or raise ``LoadError`` saying why it cannot be read."""
    _import_builtins()
    options = options or LoaderOptions()
    extension = path.suffix.lower()
    if extension not in LOADERS.names():
        raise LoadError(f"unsupported file type {extension or '(no extension)'!r}")
    check_size(path, options)
    loader = LOADERS.get(extension)()
    try:
        document = loader.load(path, options)
    except (ChatkbError, MemoryError):  # out of memory: the caller's budget, not the file's
        raise
    except Exception as exc:  # any library failure on one file is that file's error only
        raise LoadError(f"cannot read {extension} file: {type(exc).__name__}: {exc}") from exc
    document = _without_nul(document)
    if not any(block.text.strip() for block in document.blocks):
        raise LoadError("no text could be extracted (empty, or an image without OCR)")
    return document


def _without_nul(document: LoadedDocument) -> LoadedDocument:
    """NUL characters dropped: never content, and PostgreSQL refuses them in text, so a
    binary-ish file would fail its write on pgvector after being embedded."""
    if not any("\x00" in block.text for block in document.blocks) and "\x00" not in (
        document.title or ""
    ):
        return document
    blocks = tuple(replace(b, text=b.text.replace("\x00", "")) for b in document.blocks)
    title = document.title.replace("\x00", "") if document.title else document.title
    return replace(document, blocks=blocks, title=title)


def check_size(path: Path, options: LoaderOptions) -> None:
    """Refuse an empty or oversized file from its size on disk, before anything reads it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"cannot open file: {exc.strerror}") from exc
    if size == 0:
        raise LoadError("empty file")
    if size > options.max_file_bytes:
        limit = options.max_file_bytes // (1024 * 1024)
        raise LoadError(f"file is {size // (1024 * 1024)} MiB, over the {limit} MiB limit")
