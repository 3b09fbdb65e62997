"""``/api/kbs/{name}/chunks``: list a document's chunks, edit one (re-embedded), delete one."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chatkb.errors import InvalidInputError, NotFoundError
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import ChunkPublic, ChunksPublic, ChunkUpdate
from chatkb.store.base import StoredChunk

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
        record = kb.find_document(source)
        if record is None:
            raise NotFoundError(f"no document {source!r} in knowledge base {name!r}")
        doc_id = record.doc_id
    data = [chunk_public(c) for c in kb.chunks(doc_id)]
    return ChunksPublic(data=data, count=len(data))


@router.get("/{chunk_id}", response_model=ChunkPublic)
def get_chunk(name: str, chunk_id: str, state: StateDep, principal: PrincipalDep) -> ChunkPublic:
    return chunk_public(state.open_kb(name, principal).find_chunk(chunk_id))


@router.patch("/{chunk_id}", response_model=ChunkPublic)
def edit_chunk(
    name: str, chunk_id: str, body: ChunkUpdate, state: StateDep, principal: PrincipalDep
) -> ChunkPublic:
    """Replace a chunk's text; its vectors and keyword entry change in the same transaction.

    The edit lasts until the document's file changes and is indexed again.
    """
    kb = state.open_kb(name, principal, "write")
    return chunk_public(kb.edit_chunk(chunk_id, body.text))


@router.delete("/{chunk_id}", status_code=204)
def delete_chunk(name: str, chunk_id: str, state: StateDep, principal: PrincipalDep) -> Response:
    """Remove one chunk from every index (until its document is indexed again)."""
    state.open_kb(name, principal, "write").delete_chunk(chunk_id)
    return Response(status_code=204)
