"""Langchain-Chatchat 0.2.10 chat routes (``/chat/knowledge_base_chat``, ``/chat/chat``,
``/chat/feedback``, ``/other/completion``) and 0.3's unified ``/chat/chat/completions``.

0.2.10 answers are SSE whose events are bare JSON objects: ``{"answer": piece}`` events then
``{"docs": [...]}`` (one ``{"answer", "docs"}`` event when ``stream`` is false), ``{"text",
"message_id"}`` for plain chat. Failures before the stream starts are Chatchat's ``{code, msg,
data}`` with the HTTP status; failures during it are a ``{"code": 500, "msg"}`` event, which
Chatchat's ``check_error_msg`` shows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from chatkb.answer import AnswerStream
from chatkb.errors import ChatkbError, NotSupportedError
from chatkb.options import AskOptions
from chatkb.server.answers import start_answer
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
from chatkb.server.streaming import in_thread, iterate_in_thread, sse, sse_response

router = APIRouter(tags=["langchain-chatchat"])
log = logging.getLogger(__name__)
AGENT_STATUS_TOKEN, AGENT_STATUS_END = 2, 3  # Chatchat 0.3's AgentStatus values


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Generation(_Body):
    history: list[HistoryItem] = Field(default_factory=list, max_length=100)
    stream: bool = False
    model_name: str | None = Field(None, max_length=300, description="ignored: chatkb's model")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, description="<= 0 or null: the configured maximum")
    prompt_name: str = Field("default", max_length=100, description="ignored: the KB's prompt")

    def options(self, **more: Any) -> AskOptions:
        max_tokens = self.max_tokens if self.max_tokens and self.max_tokens > 0 else None
        return AskOptions(temperature=self.temperature, max_tokens=max_tokens, **more)


class KnowledgeBaseChat(_Generation):
    query: str = Field(..., min_length=1, max_length=4000)
    knowledge_base_name: str = Field(..., max_length=64)
    top_k: int = Field(3, ge=1, le=50)
    score_threshold: float = Field(1.0, ge=0, le=2, description="Chatchat's distance, 0..2")


class PlainChat(_Generation):
    query: str = Field(..., min_length=1, max_length=4000)
    conversation_id: str | None = Field(None, max_length=100)
    history_len: int = -1


class Completion(_Generation):
    query: str = Field(..., min_length=1, max_length=20000)
    echo: bool = False


class Feedback(_Body):
    message_id: str = Field("", max_length=64)
    score: int = Field(0, ge=0, le=100)
    reason: str = Field("", max_length=2000)


@router.post("/chat/knowledge_base_chat", response_class=StreamingResponse)
async def knowledge_base_chat(
    body: KnowledgeBaseChat, request: Request, state: StateDep, principal: PrincipalDep
) -> StreamingResponse:
    """0.2.10's knowledge-base chat: ``{"answer"}`` events, then ``{"docs"}`` references."""
    kbs = await in_thread(state.open_kbs, [body.knowledge_base_name], principal)
    sent = body.score_threshold if "score_threshold" in body.model_fields_set else None
    options = with_score_threshold(body.options(top_k=body.top_k), sent)
    history = history_messages(body.history)
    stream = await in_thread(
        lambda: start_answer(state, kbs, body.query, history=history, options=options)
    )
    docs = references(stream.hits if stream.found else [], str(request.base_url))
    return sse_response(
        answer_then_docs(stream, docs, streaming=body.stream, on_error=error_payload)
    )


def error_payload(exc: Exception) -> dict[str, object]:
    """Chatchat's error shape inside a stream (its clients read ``code`` and ``msg``)."""
    if isinstance(exc, ChatkbError):
        return {"code": exc.status_code, "msg": exc.message, "data": None}
    log.error("error while streaming", exc_info=exc)
    return {"code": 500, "msg": f"internal error ({type(exc).__name__})", "data": None}


@router.post("/chat/chat", response_class=StreamingResponse)
async def chat(body: PlainChat, state: StateDep, principal: PrincipalDep) -> StreamingResponse:
    """Plain LLM chat (needs ``[llm]``): ``{"text", "message_id"}`` events. Nothing is stored:
    the 0.2.10 conversation database has no counterpart here, so ``conversation_id`` is only
    echoed back in the log."""
    del principal
    history = history_messages(body.history)
    stream = await in_thread(
        lambda: start_answer(state, [], body.query, history=history, options=body.options())
    )
    message_id = uuid.uuid4().hex
    return sse_response(_text_events(stream, message_id, streaming=body.stream))


async def _text_events(
    stream: AnswerStream, message_id: str, *, streaming: bool
) -> AsyncIterator[str]:
    try:
        if streaming:
            async for piece in iterate_in_thread(iter(stream)):
                yield sse({"text": piece, "message_id": message_id})
        else:
            answer = await in_thread(stream.result)
            yield sse({"text": answer.answer, "message_id": message_id})
    except Exception as exc:
        yield sse(error_payload(exc))


@router.post("/other/completion", response_class=StreamingResponse)
async def completion(
    body: Completion, state: StateDep, principal: PrincipalDep
) -> StreamingResponse:
    """0.2.10's completion: the query sent to the chat model as one user message (chatkb has
    no raw-completion path); ``echo`` repeats the query first."""
    del principal
    stream = await in_thread(lambda: start_answer(state, [], body.query, options=body.options()))
    return sse_response(_plain_text(stream, body.query if body.echo else ""))


async def _plain_text(stream: AnswerStream, prefix: str) -> AsyncIterator[str]:
    try:
        if prefix:
            yield sse(prefix)
        async for piece in iterate_in_thread(iter(stream)):
            yield sse(piece)
    except Exception as exc:
        yield sse(error_payload(exc))


@router.post("/chat/feedback")
def feedback(body: Feedback, principal: PrincipalDep) -> dict[str, object]:
    """Accepted and logged (chatkb keeps no message database for Chatchat's chat routes)."""
    del principal
    log.info("chat feedback for %s: score %d, %s", body.message_id, body.score, body.reason)
    return ok(f"已反馈聊天记录 {body.message_id}")


@router.post("/chat/search_engine_chat")
def search_engine_chat(principal: PrincipalDep) -> None:
    del principal
    raise NotSupportedError("search-engine chat is not supported: chatkb works offline")


@router.post("/chat/agent_chat")
def agent_chat(principal: PrincipalDep) -> None:
    del principal
    raise NotSupportedError("agent chat is not supported: chatkb has no agents or tools")


@router.post("/chat/chat/completions", response_model=None)
async def unified_chat(
    body: ChatCompletionRequest, state: StateDep, principal: PrincipalDep
) -> StreamingResponse | dict[str, object]:
    """0.3's unified chat (its web UI's LLM chat, an openai client at ``/chat``): plain LLM
    chat as ``OpenAIChatOutput`` chunks; tools and agents are not supported."""
    del principal
    extra: dict[str, Any] = body.model_extra or {}
    if extra.get("tools") or extra.get("tool_choice"):
        raise NotSupportedError("tools and agents are not supported: chatkb has no agents")
    question, history = split_messages(body.messages)
    options = AskOptions(temperature=body.temperature, max_tokens=body.max_tokens)
    stream = await in_thread(
        lambda: start_answer(state, [], question, history=history, options=options)
    )
    message_id = uuid.uuid4().hex
    if body.stream:
        return sse_response(_output_chunks(stream, stream.model, message_id))
    answer = await in_thread(stream.result)
    return chat_output(answer.answer, model=stream.model, final=True, message_id=message_id)


async def _output_chunks(stream: AnswerStream, model: str, message_id: str) -> AsyncIterator[str]:
    try:
        async for piece in iterate_in_thread(iter(stream)):
            yield sse(_status_chunk(piece, model, message_id, AGENT_STATUS_TOKEN))
        yield sse(_status_chunk("", model, message_id, AGENT_STATUS_END))
    except Exception as exc:
        yield sse(error_payload(exc))


def _status_chunk(content: str, model: str, message_id: str, status: int) -> dict[str, object]:
    return chat_output(content, model=model, message_id=message_id, status=status)
