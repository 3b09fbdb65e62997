"""``/api/chat``: answers with citations, streamed as SSE or as one JSON; stored per conversation.

Stream events: ``meta`` (conversation and message ids), ``token`` (``{"text"}``, many),
``citations`` (``{"citations", "sources", "found", "grounded", "model", "extractive"}``), then
``done`` (the full answer). ``citations`` holds only the passages the answer cites by ``[n]``;
``sources`` lists each cited document once; ``grounded`` is false when it cites none. A
failure after the stream started arrives as an ``error`` event. Without knowledge bases the
LLM answers alone (no citations).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from chatkb.answer import AnswerStream
from chatkb.errors import ConfigError, InvalidInputError
from chatkb.kb import KnowledgeBase
from chatkb.models import Message
from chatkb.options import AskOptions
from chatkb.server.answers import citations_json, sources_json, start_answer
from chatkb.server.auth import Principal
from chatkb.server.chat_models import NO_LLM
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import AnswerPublic, ChatRequest
from chatkb.server.state import ServerState
from chatkb.server.streaming import error_event, in_thread, iterate_in_thread, sse, sse_response

router = APIRouter(prefix="/api/chat", tags=["chat"])
HISTORY_TURNS = 10


@dataclass(frozen=True)
class _Turn:
    """Where an answer goes once finished."""

    conversation_id: str
    message_id: str
    question: str
    kbs: list[KnowledgeBase]
    replace_last: bool
    store: bool = True


@router.post(
    "",
    response_model=AnswerPublic,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat(
    body: ChatRequest, state: StateDep, principal: PrincipalDep
) -> AnswerPublic | StreamingResponse:
    """Answer a question from knowledge bases with numbered citations (none: the plain LLM)."""
    if body.regenerate and not body.conversation_id:
        raise InvalidInputError("regenerate needs the conversation_id of the answer to replace")
    kbs = await in_thread(state.open_kbs, body.kbs, principal) if body.kbs else []
    # Refused before a conversation is stored: an unknown model, plain chat without an LLM.
    answerer = state.chat_models.answerer(body.model)  # an unknown model is refused here
    if not kbs and not answerer.generative:
        raise ConfigError(NO_LLM)
    conversation_id, history = await in_thread(_conversation, state, principal, body)
    options = _options(body)
    stream = await in_thread(
        lambda: start_answer(state, kbs, body.question, history=history, options=options)
    )
    turn = _Turn(conversation_id, uuid.uuid4().hex, body.question, kbs, body.regenerate, body.store)
    if body.stream:
        return sse_response(_events(state, stream, turn))
    answer = await in_thread(_finish, state, stream, turn)
    return AnswerPublic.model_validate(answer)


def _options(body: ChatRequest) -> AskOptions:
    return AskOptions(
        top_k=body.top_k,
        min_relevance=body.min_relevance,
        score_threshold=body.score_threshold,
        rewrite=body.rewrite,
        temperature=body.temperature,
        max_tokens=body.max_tokens,
        stop=tuple(body.stop) if body.stop else None,
        language=body.language,
        filters=body.filters.to_filter() if body.filters else None,
        model=body.model,
    )


def _conversation(
    state: ServerState, principal: Principal, body: ChatRequest
) -> tuple[str, list[Message]]:
    store = state.conversations
    if body.conversation_id:
        store.get(principal.name, body.conversation_id)
        history = store.history(
            principal.name, body.conversation_id, HISTORY_TURNS, skip_last=body.regenerate
        )
        return body.conversation_id, history
    if not body.store:  # a scripted call: answered, not kept
        return "", [Message(m.role, m.content) for m in body.history]
    conversation = store.create(principal.name, body.question[:80], body.kbs)
    return conversation.id, [Message(m.role, m.content) for m in body.history]


def _finish(state: ServerState, stream: AnswerStream, turn: _Turn) -> dict[str, object]:
    """Wait for the whole answer, store it, and return it as ``AnswerPublic`` JSON."""
    answer = stream.result()
    citations = citations_json(answer, stream, turn.kbs)
    if turn.store:
        state.conversations.add_turn(
            turn.conversation_id,
            turn.question,
            answer,
            turn.message_id,
            citations=citations,
            replace_last=turn.replace_last,
        )
    return {
        **answer.to_json(),
        "citations": citations,
        "sources": sources_json(answer, citations),
        "conversation_id": turn.conversation_id,
        "message_id": turn.message_id,
    }


async def _events(state: ServerState, stream: AnswerStream, turn: _Turn) -> AsyncIterator[str]:
    meta = {
        "conversation_id": turn.conversation_id,
        "message_id": turn.message_id,
        "model": stream.model,
    }
    yield sse(meta, "meta")
    try:
        async for piece in iterate_in_thread(iter(stream)):
            yield sse({"text": piece}, "token")
        answer = await in_thread(_finish, state, stream, turn)
    except Exception as exc:
        yield sse(error_event(exc), "error")
        return
    cited = {
        k: v for k, v in answer.items() if k not in ("answer", "conversation_id", "message_id")
    }
    yield sse(cited, "citations")
    yield sse({**answer, **meta}, "done")
