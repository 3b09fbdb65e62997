"""Langchain-Chatchat's model, server-state, embedding and tool routes (``/llm_model/*``,
``/server/*``, ``/other/embed_texts``, ``/tools``), and the knowledge-base routes whose feature
chatkb answers differently (``update_docs_by_id``, ``search_temp_docs``, summaries).

Chatchat 0.2.10's web UI calls the model routes on every page: chatkb lists its one answering
model (the configured LLM, or ``extractive``) as running, local and not switchable.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatkb import __version__
from chatkb.embedders import EMBEDDERS, embed_batched
from chatkb.errors import InvalidInputError, NotSupportedError
from chatkb.llm.prompts import SYSTEM_EN
from chatkb.server.answers import find
from chatkb.server.auth import Principal
from chatkb.server.chatchat import VS_TYPE, document, keep, ok
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.state import ServerState

router = APIRouter(tags=["langchain-chatchat"])
NO_WORKERS = (
    "chatkb runs no model workers: the answering model is set by [llm] (docs/configuration.md)"
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EmbedTexts(_Body):
    texts: list[str] = Field(..., min_length=1, max_length=256)
    embed_model: str = Field("", max_length=300, description="a chatkb embedder, else the default")
    to_query: bool = False


class DocById(_Body):
    page_content: str = Field(..., max_length=100_000)
    metadata: dict[str, Any] = Field(default_factory=dict)


class UpdateById(_Body):
    knowledge_base_name: str = Field(..., max_length=64)
    docs: dict[str, DocById] = Field(..., max_length=1000)


class SearchTemp(_Body):
    knowledge_id: str = Field(..., max_length=64)
    query: str = Field(..., min_length=1, max_length=4000)
    top_k: int = Field(3, ge=1, le=50)
    score_threshold: float = Field(2.0, ge=0, le=2)


def _model_config(state: ServerState) -> dict[str, object]:
    llm = state.settings.llm
    return {"model_name": _model_name(state), "backend": state.chat_models.backend,
            "online_api": False, "model_path_exists": True, "temperature": llm.temperature,
            "max_tokens": llm.max_tokens}  # fmt: skip


def _model_name(state: ServerState) -> str:
    default = state.chat_models.default
    return default.name if default is not None else "extractive"


@router.post("/llm_model/list_running_models")
def list_running_models(state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    del principal
    return ok(data={_model_name(state): _model_config(state)})


@router.post("/llm_model/list_config_models")
def list_config_models(
    state: StateDep,
    principal: PrincipalDep,
    types: list[str] = Body(["local", "online"], embed=True),
) -> dict[str, object]:
    del principal
    data: dict[str, object] = {t: {} for t in types}
    if "local" in types:
        data["local"] = {_model_name(state): _model_config(state)}
    return ok(data=data)


@router.post("/llm_model/get_model_config")
def get_model_config(state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    """The configuration of chatkb's answering model, whatever ``model_name`` is asked for."""
    del principal
    return ok(data=_model_config(state))


@router.post("/llm_model/stop")
def stop_llm_model(principal: PrincipalDep) -> None:
    del principal
    raise NotSupportedError(NO_WORKERS)


@router.post("/llm_model/change")
def change_llm_model(principal: PrincipalDep) -> None:
    del principal
    raise NotSupportedError(NO_WORKERS)


@router.post("/server/configs")
def server_configs(state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    """A bare dict, as in Chatchat, with the keys its web UI reads and chatkb's values."""
    del principal
    s = state.settings
    return {"DEFAULT_VS_TYPE": VS_TYPE, "CHUNK_SIZE": s.chunking.chunk_size,
            "OVERLAP_SIZE": s.chunking.chunk_overlap, "SCORE_THRESHOLD": 1.0,
            "VECTOR_SEARCH_TOP_K": s.retrieval.top_k, "SEARCH_ENGINE_TOP_K": 0,
            "ZH_TITLE_ENHANCE": False, "TEXT_SPLITTER_NAME": "chatkb",
            "LLM_MODELS": [_model_name(state)], "HISTORY_LEN": 3,
            "TEMPERATURE": s.llm.temperature, "EMBEDDING_MODEL": s.embedder.name,
            "DEFAULT_SEARCH_ENGINE": "", "PROMPT_TEMPLATES": _PROMPTS,
            "chatkb_version": __version__}  # fmt: skip


_PROMPTS = {
    "llm_chat": {"default": "{{ input }}"},
    "knowledge_base_chat": {"default": SYSTEM_EN},
}


@router.post("/server/get_prompt_template")
def get_prompt_template(
    type: Literal["llm_chat", "knowledge_base_chat", "search_engine_chat", "agent_chat"] = Body(
        "llm_chat"
    ),
    name: str = Body("default", max_length=100),
    *,
    principal: PrincipalDep,
) -> str:
    """A JSON string, as in Chatchat. chatkb has one built-in template per chat type (a
    knowledge base's own prompt is set with ``chatkb kb prompt``)."""
    del name, principal
    if type not in _PROMPTS:
        raise NotSupportedError(f"{type}: chatkb has no search-engine or agent chat")
    return _PROMPTS[type]["default"]


@router.post("/server/list_search_engines")
def list_search_engines(principal: PrincipalDep) -> dict[str, object]:
    del principal
    return ok(data=[])


@router.post("/other/embed_texts")
def embed_texts(body: EmbedTexts, state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    """``data`` is the list of vectors. ``embed_model`` names a chatkb embedder, or else the
    default one is used (Chatchat's model names, e.g. bge-large-zh-v1.5, are not installed)."""
    del principal
    name = (
        body.embed_model if body.embed_model in EMBEDDERS.names() else state.settings.embedder.name
    )
    embedder = state.library.embedder(name)
    vectors = embed_batched(
        embedder,
        body.texts,
        kind="query" if body.to_query else "passage",
        batch_size=state.settings.embedder.batch_size,
    )
    return ok(data=[[float(x) for x in v] for v in vectors])


@router.get("/tools")
def list_tools(principal: PrincipalDep) -> dict[str, object]:
    """0.3's web UI lists tools on its chat page: chatkb has none."""
    del principal
    return ok(data={})


@router.post("/tools/call")
def call_tool(principal: PrincipalDep) -> None:
    del principal
    raise NotSupportedError("tools are not supported: chatkb has no agents or tools")


@router.post("/knowledge_base/update_docs_by_id")
def update_docs_by_id(body: UpdateById, principal: PrincipalDep) -> None:
    del body, principal
    raise NotSupportedError(
        "update_docs_by_id is not supported: edit a chunk with PATCH "
        "/api/kbs/{name}/chunks/{chunk_id} (docs/api.md)"
    )


@router.post("/knowledge_base/search_temp_docs")
async def search_temp_docs(
    request: Request,
    state: StateDep,
    principal: PrincipalDep,
    body: Annotated[SearchTemp | None, Body()] = None,
) -> list[dict[str, object]]:
    """0.3: search a file-chat knowledge base (``knowledge_id`` from ``upload_temp_docs``);
    only the key that made it may. Chatchat declares the fields as query parameters; a JSON
    body is taken too."""
    if body is None:
        try:
            body = SearchTemp.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise InvalidInputError(f"search_temp_docs: {exc.errors()[0]['msg']}") from None
    return await state.searching(_search_temp_docs, body, state, principal)


def _search_temp_docs(
    body: SearchTemp, state: ServerState, principal: Principal
) -> list[dict[str, object]]:
    kb = state.open_temp(body.knowledge_id, principal)
    hits = find(state, [kb], body.query, top_k=body.top_k)
    return [document(h) for h in keep(hits, body.score_threshold)]


@router.post("/knowledge_base/kb_summary_api/{action}")
def summaries(action: str, principal: PrincipalDep) -> None:
    del principal
    raise NotSupportedError(f"{action}: file summaries are not supported by chatkb")
