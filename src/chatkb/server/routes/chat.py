"""``/api/chat``: answers with citations, streamed as SSE or as one JSON; stored per conversation.

Stream events: ``meta`` (conversation and message ids), ``token`` (``{"text"}``, many),
``citations`` (``{"citations", "found", "model", "extractive"}``), then ``done`` (the full
answer). A failure after the stream started arrives as an ``error`` event.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from chatkb.answer import AnswerStream
from chatkb.models import Message
from chatkb.server.answers import start_answer
from chatkb.server.auth import Principal
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import AnswerPublic, ChatRequest
from chatkb.server.state import ServerState
from chatkb.server.streaming import error_event, in_thread, iterate_in_thread, sse, sse_response

router = APIRouter(prefix="/api/chat", tags=["chat"])
HISTORY_TURNS = 10


@router.post(
    "",
    response_model=AnswerPublic,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat(
    body: ChatRequest, state: StateDep, principal: PrincipalDep
) -> AnswerPublic | StreamingResponse:
    """Answer a question from one or more knowledge bases, with numbered citations."""
    conversation_id, history = await in_thread(_conversation, state, principal, body)
    kbs = await in_thread(state.open_kbs, body.kbs, principal)
    filters = body.filters.to_filter() if body.filters else None
    stream = await in_thread(
        lambda: start_answer(
            state, kbs, body.question, history=history, top_k=body.top_k, filters=filters
        )
    )
    message_id = uuid.uuid4().hex
    if body.stream:
        return sse_response(_events(state, body.question, stream, conversation_id, message_id))
    answer = await in_thread(stream.result)
    await in_thread(
        state.conversations.add_turn, conversation_id, body.question, answer, message_id
    )
    return AnswerPublic.model_validate(
        {**answer.to_json(), "conversation_id": conversation_id, "message_id": message_id}
    )


def _conversation(
    state: ServerState, principal: Principal, body: ChatRequest
) -> tuple[str, list[Message]]:
    store = state.conversations
    if body.conversation_id:
        store.get(principal.name, body.conversation_id)
        return body.conversation_id, store.history(
            principal.name, body.conversation_id, HISTORY_TURNS
        )
    conversation = store.create(principal.name, body.question[:80], body.kbs)
    return conversation.id, [Message(m.role, m.content) for m in body.history]


async def _events(
    state: ServerState, question: str, stream: AnswerStream, conversation_id: str, message_id: str
) -> AsyncIterator[str]:
    meta = {"conversation_id": conversation_id, "message_id": message_id, "model": stream.model}
    yield sse(meta, "meta")
    try:
        async for piece in iterate_in_thread(iter(stream)):
            yield sse({"text": piece}, "token")
        answer = await in_thread(stream.result)
        await in_thread(state.conversations.add_turn, conversation_id, question, answer, message_id)
    except Exception as exc:
        yield sse(error_event(exc), "error")
        return
    cited = {k: v for k, v in answer.to_json().items() if k != "answer"}
    yield sse(cited, "citations")
    yield sse({**answer.to_json(), **meta}, "done")
