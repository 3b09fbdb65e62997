"""``/api/kbs``: create, list, inspect, describe and delete knowledge bases."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chatkb.kb import KnowledgeBase
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import KBCreate, KBPublic, KBsPublic, KBUpdate
from chatkb.server.state import ServerState

router = APIRouter(prefix="/api/kbs", tags=["knowledge bases"])


def kb_public(state: ServerState, kb: KnowledgeBase) -> KBPublic:
    info = kb.info()
    return KBPublic.model_validate({**info, "active_jobs": len(state.jobs.active(kb.name))})


@router.get("", response_model=KBsPublic)
def list_kbs(state: StateDep, principal: PrincipalDep) -> KBsPublic:
    """Knowledge bases this key may read, with document and chunk counts and sizes."""
    data = [kb_public(state, state.library.open(n)) for n in state.readable_names(principal)]
    return KBsPublic(data=data, count=len(data))


@router.post("", response_model=KBPublic, status_code=201)
def create_kb(body: KBCreate, state: StateDep, principal: PrincipalDep) -> KBPublic:
    """Create an empty knowledge base; its embedder and chunking are fixed from now on."""
    principal.require(body.name, "admin")
    kb = state.library.create(
        body.name,
        description=body.description,
        embedder=body.embedder,
        chunk_size=body.chunk_size,
        chunk_overlap=body.chunk_overlap,
        window_chars=body.window_chars,
    )
    return kb_public(state, kb)


@router.get("/{name}", response_model=KBPublic)
def get_kb(name: str, state: StateDep, principal: PrincipalDep) -> KBPublic:
    return kb_public(state, state.open_kb(name, principal))


@router.patch("/{name}", response_model=KBPublic)
def update_kb(name: str, body: KBUpdate, state: StateDep, principal: PrincipalDep) -> KBPublic:
    """Change the description (the only setting that may change after creation)."""
    state.open_kb(name, principal, "write")
    return kb_public(state, state.library.update_description(name, body.description))


@router.delete("/{name}", status_code=204)
def delete_kb(name: str, state: StateDep, principal: PrincipalDep) -> Response:
    """Delete a knowledge base with every document and uploaded file; jobs are cancelled."""
    state.open_kb(name, principal, "admin")
    state.jobs.cancel_all(name)
    state.library.delete(name)
    return Response(status_code=204)
