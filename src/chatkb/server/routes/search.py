"""``/api/search``: hybrid retrieval over one or more knowledge bases, no LLM."""

from __future__ import annotations

from fastapi import APIRouter

from chatkb.options import AskOptions
from chatkb.server.answers import find
from chatkb.server.auth import Principal
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import HitPublic, HitsPublic, SearchRequest
from chatkb.server.state import ServerState

router = APIRouter(prefix="/api/search", tags=["search"])


@router.post("", response_model=HitsPublic)
async def search(body: SearchRequest, state: StateDep, principal: PrincipalDep) -> HitsPublic:
    """The best passages for a query (dense + keyword, fused); scores are higher-is-better."""
    return await state.searching(_search, body, state, principal)


def _search(body: SearchRequest, state: ServerState, principal: Principal) -> HitsPublic:
    kbs = state.open_kbs(body.kbs, principal)
    filters = body.filters.to_filter() if body.filters else None
    options = AskOptions(top_k=body.top_k, filters=filters, score_threshold=body.score_threshold)
    hits = find(state, kbs, body.query, options)
    data = [HitPublic.model_validate(h.to_json()) for h in hits]
    return HitsPublic(data=data, count=len(data))
