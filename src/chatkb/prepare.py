"""A loaded document made ready to index: its chunks, each with its keyword tokens and the
texts to embed for it.

This is the CPU-heavy part of ingest besides the model (splitting, sentence windows,
tokenizing with jieba and Snowball, hashing). It needs nothing but the document and the
knowledge base's chunking, so the loading worker process runs it right after loading
(``loaders.isolated``), and the ingest loop, which embeds and writes file *n* meanwhile,
receives file *n + 1* ready (docs/architecture.md#ingest).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatkb.models import Chunk, LoadedDocument
from chatkb.passages import embedded_texts, passage_text, text_hash
from chatkb.splitter import split
from chatkb.tokenize import tokenize


@dataclass(frozen=True)
class Chunking:
    """How a knowledge base cuts documents (recorded in its ``kb.json``)."""

    chunk_size: int
    chunk_overlap: int
    window_chars: int


@dataclass(frozen=True)
class PreparedChunk:
    chunk: Chunk
    indexed_hash: str  # the hash of the text indexed for it (chunk under title and headings)
    keywords: tuple[str, ...]
    embedded: dict[str, str]  # the texts embedded for it, by hash (windows, or the whole)


@dataclass(frozen=True)
class PreparedDocument:
    document: LoadedDocument
    chunks: tuple[PreparedChunk, ...]


def prepare(document: LoadedDocument, chunking: Chunking) -> PreparedDocument:
    chunks = split(document, chunk_size=chunking.chunk_size, chunk_overlap=chunking.chunk_overlap)
    return PreparedDocument(
        document, tuple(_prepare_chunk(c, document.title, chunking.window_chars) for c in chunks)
    )


def _prepare_chunk(chunk: Chunk, title: str | None, window_chars: int) -> PreparedChunk:
    indexed = passage_text(chunk, title)
    return PreparedChunk(
        chunk,
        text_hash(indexed),
        tuple(tokenize(indexed)),
        embedded_texts(chunk, title, window_chars),
    )
