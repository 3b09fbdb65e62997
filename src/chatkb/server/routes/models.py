"""``/api/embedders`` and ``/api/models``: the choices a client offers its users (the embedder
of a new knowledge base; the chat model of a conversation)."""

from __future__ import annotations

from fastapi import APIRouter

from chatkb.embedders import EMBEDDERS
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import EmbedderPublic, EmbeddersPublic, ModelPublic, ModelsPublic

router = APIRouter(prefix="/api", tags=["models"])


@router.get("/embedders", response_model=EmbeddersPublic)
def list_embedders(state: StateDep, principal: PrincipalDep) -> EmbeddersPublic:
    """Registered embedder names; ``default`` marks ``[embedder] name`` (listed first)."""
    del principal  # any valid key may see them
    default = state.settings.embedder.name
    names = [default, *(n for n in EMBEDDERS.names() if n != default)]
    data = [EmbedderPublic(name=n, default=n == default) for n in names]
    return EmbeddersPublic(data=data, count=len(data))


@router.get("/models", response_model=ModelsPublic)
def list_models(state: StateDep, principal: PrincipalDep) -> ModelsPublic:
    """Chat models: the configured one (``default``), then the others its OpenAI-compatible
    server lists; ``extractive`` alone without an LLM."""
    del principal
    ids = state.chat_models.listed()
    data = [ModelPublic(id=i, default=n == 0) for n, i in enumerate(ids)]
    return ModelsPublic(data=data, count=len(data))
