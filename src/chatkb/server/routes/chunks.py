"""``/api/kbs/{name}/chunks``: list a document's chunks, edit one (re-embedded), delete one."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Response

from chatkb.errors import InvalidInputError, NotFoundError
from chatkb.ingest import embedded_texts, passage_text, windows_of
from chatkb.kb import KnowledgeBase
from chatkb.models import Chunk
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import ChunkPublic, ChunksPublic, ChunkUpdate
from chatkb.store.base import StoredChunk
from chatkb.tokenize import tokenize

router = APIRouter(prefix="/api/kbs/{name}/chunks", tags=["chunks"])


def chunk_public(chunk: StoredChunk) -> ChunkPublic:
    fields = dict(chunk.__dict__)
    fields.pop("key")
    return ChunkPublic.model_validate({**fields, "heading_path": list(chunk.heading_path)})


@router.get("", response_model=ChunksPublic)
def list_chunks(
    name: str,
    state: StateDep,
    principal: PrincipalDep,
    source: str | None = None,
    doc_id: str | None = None,
) -> ChunksPublic:
    """The chunks of one document, in order; name it by ``source`` or ``doc_id``."""
    kb = state.open_kb(name, principal)
    if doc_id is None:
        if source is None:
            raise InvalidInputError("give ?source=NAME or ?doc_id=ID")
        record = kb.store.find_document(source)
        if record is None:
            raise NotFoundError(f"no document {source!r} in knowledge base {name!r}")
        doc_id = record.doc_id
    data = [chunk_public(c) for c in kb.store.chunks_of(doc_id)]
    return ChunksPublic(data=data, count=len(data))


@router.get("/{chunk_id}", response_model=ChunkPublic)
def get_chunk(name: str, chunk_id: str, state: StateDep, principal: PrincipalDep) -> ChunkPublic:
    return chunk_public(_find(state.open_kb(name, principal), chunk_id))


@router.patch("/{chunk_id}", response_model=ChunkPublic)
def edit_chunk(
    name: str, chunk_id: str, body: ChunkUpdate, state: StateDep, principal: PrincipalDep
) -> ChunkPublic:
    """Replace a chunk's text; its vectors and keyword entry change in the same transaction.

    The edit lasts until the document's file changes and is indexed again.
    """
    kb = state.open_kb(name, principal, "write")
    old = _find(kb, chunk_id)
    record = kb.store.find_document(old.source)
    title = record.title if record else None
    chunk = Chunk(0, body.text, old.start, old.end, old.page, old.heading_path)
    indexed = passage_text(chunk, title)
    text_hash = hashlib.sha256(indexed.encode("utf-8")).hexdigest()
    embedded = embedded_texts(chunk, title, kb.config.window_chars)
    vectors = kb.embedder().embed(list(embedded.values()), "passage")
    kb.store.update_chunk(
        chunk_id,
        text=body.text,
        keywords=" ".join(tokenize(indexed)),
        text_hash=text_hash,
        windows=windows_of(embedded, text_hash),
        vectors=dict(zip(embedded, vectors, strict=True)),
    )
    kb.store.prune_vectors()
    return chunk_public(_find(kb, chunk_id))


@router.delete("/{chunk_id}", status_code=204)
def delete_chunk(name: str, chunk_id: str, state: StateDep, principal: PrincipalDep) -> Response:
    """Remove one chunk from every index (until its document is indexed again)."""
    kb = state.open_kb(name, principal, "write")
    if not kb.store.delete_chunk(chunk_id):
        raise NotFoundError(f"no chunk {chunk_id!r} in knowledge base {name!r}")
    kb.store.prune_vectors()
    return Response(status_code=204)


def _find(kb: KnowledgeBase, chunk_id: str) -> StoredChunk:
    chunk = kb.store.find_chunk(chunk_id)
    if chunk is None:
        raise NotFoundError(f"no chunk {chunk_id!r} in knowledge base {kb.name!r}")
    return chunk
