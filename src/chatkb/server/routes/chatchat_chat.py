"""Langchain-Chatchat-compatible chat: ``/chat/kb_chat``, the OpenAI-style
``/knowledge_base/{local_kb|temp_kb}/{name}/chat/completions``, and file chat
(``/knowledge_base/upload_temp_docs`` then ``/chat/file_chat`` or ``temp_kb``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from chatkb.answer import AnswerStream
from chatkb.errors import InvalidInputError, NotFoundError
from chatkb.kb import KnowledgeBase
from chatkb.models import Message
from chatkb.options import AskOptions
from chatkb.server.answers import start_answer
from chatkb.server.auth import Principal
from chatkb.server.chat_requests import (
    ChatCompletionRequest,
    HistoryItem,
    history_messages,
    split_messages,
)
from chatkb.server.chatchat import (
    answer_then_docs,
    chat_output,
    ok,
    references,
    with_score_threshold,
)
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.documents import save_uploads
from chatkb.server.state import ServerState
from chatkb.server.streaming import error_event, in_thread, iterate_in_thread, sse, sse_response

router = APIRouter(tags=["langchain-chatchat"])
TEMP_TTL = timedelta(days=1)
Mode = Literal["local_kb", "temp_kb", "search_engine"]


class KbChat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str = Field(..., min_length=1, max_length=4000)
    mode: Mode = "local_kb"
    kb_name: str = Field("", max_length=64)
    top_k: int = Field(3, ge=1, le=50)
    score_threshold: float = Field(2.0, ge=0, le=2)
    history: list[HistoryItem] = Field(default_factory=list, max_length=100)
    stream: bool = True
    model: str | None = Field(None, max_length=300)
    return_direct: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, description="<= 0 or null: the configured maximum")


class FileChat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str = Field(..., min_length=1, max_length=4000)
    knowledge_id: str = Field(..., max_length=64)
    top_k: int = Field(3, ge=1, le=50)
    history: list[HistoryItem] = Field(default_factory=list, max_length=100)
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, description="<= 0 or null: the configured maximum")

    def options(self) -> AskOptions:
        max_tokens = self.max_tokens if self.max_tokens and self.max_tokens > 0 else None
        return AskOptions(top_k=self.top_k, temperature=self.temperature, max_tokens=max_tokens)


def _kbs(state: ServerState, principal: Principal, mode: str, name: str) -> list[KnowledgeBase]:
    if mode == "local_kb":
        return state.open_kbs([name], principal)
    if mode == "temp_kb":
        return [state.open_temp(name, principal)]
    raise InvalidInputError("mode 'search_engine' is not supported: chatkb works offline")


@router.post("/chat/kb_chat", response_model=None)
async def kb_chat(
    body: KbChat, request: Request, state: StateDep, principal: PrincipalDep
) -> StreamingResponse | dict[str, object]:
    kbs = await in_thread(_kbs, state, principal, body.mode, body.kb_name)
    return await _answer(
        state, kbs, body.query, history_messages(body.history), body, str(request.base_url)
    )


@router.post("/knowledge_base/{mode}/{param}/chat/completions", response_model=None)
async def kb_chat_completions(
    mode: Mode,
    param: str,
    body: ChatCompletionRequest,
    request: Request,
    state: StateDep,
    principal: PrincipalDep,
) -> StreamingResponse | dict[str, object]:
    """What Chatchat's web UI calls through the openai client (``extra_body`` fields too)."""
    extra: dict[str, Any] = body.model_extra or {}
    options = KbChat(
        query="-", mode=mode, kb_name=param, top_k=body.top_k or extra.get("top_k") or 3,
        stream=bool(body.stream), model=body.model, return_direct=bool(extra.get("return_direct")),
        temperature=body.temperature, max_tokens=body.token_limit(),
        **({"score_threshold": extra["score_threshold"]} if "score_threshold" in extra else {}),
    )  # fmt: skip
    question, history = split_messages(body.messages)
    kbs = await in_thread(_kbs, state, principal, mode, param)
    return await _answer(state, kbs, question, history, options, str(request.base_url))


async def _answer(
    state: ServerState,
    kbs: list[KnowledgeBase],
    question: str,
    history: list[Message],
    options: KbChat,
    base_url: str,
) -> StreamingResponse | dict[str, object]:
    stream = await in_thread(
        lambda: start_answer(state, kbs, question, history=history, options=ask_options(options))
    )
    docs = references(
        stream.hits if stream.found else [], base_url, links=options.mode == "local_kb"
    )
    model = options.model or stream.model
    if options.return_direct:
        direct = chat_output("", model=model, final=True, docs=docs)
        return sse_response(_once(direct)) if options.stream else direct
    if options.stream:
        return sse_response(_kb_chunks(stream, model, docs))
    answer = await in_thread(stream.result)
    return chat_output(answer.answer, model=model, final=True, docs=docs)


def ask_options(body: KbChat) -> AskOptions:
    """Chatchat's ``score_threshold`` sets both cuts (``with_score_threshold``); generation
    options as the client sent them (``max_tokens`` <= 0: the configured maximum)."""
    max_tokens = body.max_tokens if body.max_tokens and body.max_tokens > 0 else None
    sent = body.score_threshold if "score_threshold" in body.model_fields_set else None
    options = AskOptions(top_k=body.top_k, temperature=body.temperature, max_tokens=max_tokens)
    return with_score_threshold(options, sent)


async def _once(payload: dict[str, object]) -> AsyncIterator[str]:
    yield sse(payload)


async def _kb_chunks(stream: AnswerStream, model: str, docs: list[str]) -> AsyncIterator[str]:
    yield sse(chat_output("", model=model, docs=docs))
    try:
        async for piece in iterate_in_thread(iter(stream)):
            yield sse(chat_output(piece, model=model))
    except Exception as exc:
        yield sse(error_event(exc))


@router.post("/knowledge_base/upload_temp_docs")
def upload_temp_docs(
    files: Annotated[list[UploadFile], File()],
    state: StateDep,
    principal: PrincipalDep,
    prev_id: Annotated[str | None, Form(max_length=64)] = None,
    knowledge_id: Annotated[str | None, Form(max_length=64)] = None,
) -> dict[str, object]:
    """A temporary knowledge base for file chat; ``data.id`` is its ``knowledge_id``.

    Any valid key may chat with its own files; only that key can open the result. A
    ``prev_id`` that is not the caller's own starts a new one, as an unknown id does."""
    _prune_temp(state)
    previous = prev_id or knowledge_id
    try:
        kb = state.open_temp(previous, principal) if previous else state.create_temp(principal)
    except NotFoundError:
        kb = state.create_temp(principal)
    saved = save_uploads(state, kb, files)
    job = state.temp_jobs.submit(kb.name, saved)
    job.done_event.wait()
    failed = [{o.source: o.error} for o in job.outcomes if o.status == "failed"]
    return ok(data={"id": kb.name, "failed_files": failed})


def _prune_temp(state: ServerState) -> None:
    cutoff = datetime.now(UTC) - TEMP_TTL
    for name in state.temp_library.names():
        created = state.temp_library.open(name).config.created_at
        if created and datetime.fromisoformat(created) < cutoff:
            state.temp_library.delete(name)


@router.post("/chat/file_chat", response_class=StreamingResponse)
async def file_chat(body: FileChat, state: StateDep, principal: PrincipalDep) -> StreamingResponse:
    """SSE, as in Chatchat: ``{"answer": piece}`` events then ``{"docs": [...]}``."""
    kb = await in_thread(state.open_temp, body.knowledge_id, principal)
    stream = await in_thread(
        lambda: start_answer(
            state, [kb], body.query, history=history_messages(body.history), options=body.options()
        )
    )
    docs = references(stream.hits if stream.found else [], "", links=False)
    return sse_response(answer_then_docs(stream, docs, streaming=body.stream, on_error=error_event))
