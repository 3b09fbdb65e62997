"""What is embedded and keyword-indexed for a chunk: the same for ingest and for an edit."""

from __future__ import annotations

import hashlib

from chatkb.models import Chunk
from chatkb.splitter import sentence_windows, with_headings
from chatkb.store.base import ChunkEdit
from chatkb.tokenize import tokenize


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def passage_text(chunk: Chunk, title: str | None) -> str:
    """What gets embedded and keyword-indexed: the chunk under its title and headings."""
    return with_headings(chunk.text, (title, *chunk.heading_path))


def embedded_texts(chunk: Chunk, title: str | None, window_chars: int) -> dict[str, str]:
    """The texts embedded for a chunk, by hash: its sentence windows, each under its title
    and headings, or the whole passage when windows are off or it fits one window."""
    parts = sentence_windows(chunk.text, window_chars)
    if len(parts) < 2:
        indexed = passage_text(chunk, title)
        return {text_hash(indexed): indexed}
    windows = (with_headings(part, (title, *chunk.heading_path)) for part in parts)
    return {text_hash(window): window for window in windows}


def windows_of(embedded: dict[str, str], whole_hash: str) -> tuple[str, ...]:
    """``ChunkRecord.windows`` for a chunk's ``embedded_texts``: empty when it is whole."""
    return () if list(embedded) == [whole_hash] else tuple(embedded)


def chunk_edit(
    chunk: Chunk, title: str | None, window_chars: int
) -> tuple[ChunkEdit, dict[str, str]]:
    """A chunk's derived fields and the texts to embed for it, by hash."""
    indexed = passage_text(chunk, title)
    whole = text_hash(indexed)
    embedded = embedded_texts(chunk, title, window_chars)
    edit = ChunkEdit(chunk.text, whole, tuple(tokenize(indexed)), windows_of(embedded, whole))
    return edit, embedded
