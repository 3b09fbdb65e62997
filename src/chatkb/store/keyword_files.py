"""The keyword index's files: a tantivy index derived from the catalog's keyword tokens.

Layout, inside a knowledge base's folder::

    keywords/index.json       which index folder is current, and the log position it holds
    keywords/<token>/         one tantivy index (its own segments and meta.json)
    keywords/lock             held by the one process that writes an index or publishes one

A full build writes a new index into a hidden folder, renames it into place and then
replaces ``index.json`` atomically. Later changes are committed into the current folder;
tantivy publishes a commit by replacing its own ``meta.json`` atomically, and only after
that commit returns is the position in ``index.json`` advanced. So the position a reader
finds is never ahead of what the index holds: at worst it is behind, and the entries after
it are re-read from the catalog, which is harmless (each re-read deletes the chunk's document
and adds its current tokens). Everything here is derived: a missing, damaged or unreadable
index costs one rebuild from the catalog.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatkb.deferred import deferred

if TYPE_CHECKING:
    import tantivy
else:
    tantivy = deferred("tantivy", globals(), "tantivy")  # on first use: chatkb.deferred


FORMAT = 1
POINTER = "index.json"
# The tokens are chatkb's own (``tokenize.py``, lower-cased, already split): the index
# splits on spaces and changes nothing, so its terms are exactly the catalog's.
TOKENS, DOC, KEY = "tokens", "doc", "key"
# Memory a writer buffers before it writes a segment (one thread).
WRITER_HEAP = 64_000_000


@dataclass(frozen=True)
class Published:
    """What ``index.json`` names: the index folder, its log position and the mean number
    of tokens a chunk had when it was built (for scoring chunks not yet in it)."""

    folder: Path
    seq: int
    mean_tokens: float


@functools.cache  # one immutable description; built at first use, not when the store opens
def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field(KEY, stored=False, indexed=True, fast=True)
    builder.add_text_field(DOC, stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_text_field(TOKENS, stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


@contextmanager
def locked(folder: Path, *, wait: bool = True) -> Iterator[bool]:
    """One writer at a time across processes (the CLI and the server share a folder).
    Yields whether the lock is held (always, when ``wait``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current(folder: Path) -> Published | None:
    """The published index, or None when there is none or ``index.json`` does not read."""
    try:
        pointer = json.loads((folder / POINTER).read_text())
        if pointer.get("format") != FORMAT:
            return None
        return Published(
            folder / str(pointer["folder"]), int(pointer["seq"]), float(pointer["mean_tokens"])
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def open_index(published: Published) -> tantivy.Index | None:
    """The published index opened for reading and writing; None when it cannot be opened
    (the caller rebuilds)."""
    try:
        if not (published.folder / "meta.json").is_file():
            return None
        return tantivy.Index(schema(), path=str(published.folder), reuse=True)
    except (OSError, ValueError):
        return None


def new_folder(folder: Path) -> Path:
    """An empty hidden folder for a build; ``publish_new`` moves it into place."""
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".tmp-{os.getpid()}-{os.urandom(4).hex()}"
    hidden.mkdir()
    return hidden


def publish_new(folder: Path, hidden: Path, seq: int, mean_tokens: float) -> Published:
    """Make the index built in ``hidden`` the current one (the caller holds ``locked``)."""
    _fsync_all(hidden)
    name = os.urandom(6).hex()
    hidden.rename(folder / name)
    published = Published(folder / name, seq, mean_tokens)
    advance(folder, published)
    for entry in folder.iterdir():  # older indexes; a reader's mapping outlives the unlink
        if entry.is_dir() and entry.name != name:
            shutil.rmtree(entry, ignore_errors=True)
    return published


def advance(folder: Path, published: Published) -> None:
    """Record ``published`` in ``index.json``, atomically (after tantivy's commit)."""
    pointer = folder / f".{POINTER}.tmp"
    pointer.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "folder": published.folder.name,
                "seq": published.seq,
                "mean_tokens": published.mean_tokens,
            }
        )
    )
    with pointer.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer, folder / POINTER)


def _fsync_all(target: Path) -> None:
    for name in os.listdir(target):
        path = target / name
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
