"""``/api/conversations``: stored chats (per API key) with their knowledge bases and answer
settings, their messages, feedback on answers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.schemas import (
    ConversationCreate,
    ConversationDetail,
    ConversationPublic,
    ConversationsPublic,
    ConversationUpdate,
    FeedbackCreate,
)

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@router.get("", response_model=ConversationsPublic)
def list_conversations(state: StateDep, principal: PrincipalDep) -> ConversationsPublic:
    """This key's conversations, most recently active first."""
    items = state.conversations.owned_by(principal.name)
    data = [ConversationPublic.model_validate(c.to_json()) for c in items]
    return ConversationsPublic(data=data, count=len(data))


@router.post("", response_model=ConversationPublic, status_code=201)
def create_conversation(
    body: ConversationCreate, state: StateDep, principal: PrincipalDep
) -> ConversationPublic:
    """Start an empty conversation (``/api/chat`` also starts one when given none)."""
    for kb in body.kbs:
        principal.require(kb, "read")
    conversation = state.conversations.create(principal.name, body.title, body.kbs, body.settings)
    return ConversationPublic.model_validate(conversation.to_json())


@router.get("/{conversation_id}", response_model=ConversationDetail)
def get_conversation(
    conversation_id: str, state: StateDep, principal: PrincipalDep
) -> ConversationDetail:
    """A conversation with every message, its citations and its feedback."""
    conversation = state.conversations.get(principal.name, conversation_id)
    messages = state.conversations.messages(principal.name, conversation_id)
    return ConversationDetail.model_validate({**conversation.to_json(), "messages": messages})


@router.patch("/{conversation_id}", response_model=ConversationPublic)
def update_conversation(
    conversation_id: str, body: ConversationUpdate, state: StateDep, principal: PrincipalDep
) -> ConversationPublic:
    """Change the title, knowledge bases or settings; fields not given keep their values."""
    for kb in body.kbs or []:
        principal.require(kb, "read")
    conversation = state.conversations.update(
        principal.name, conversation_id, title=body.title, kbs=body.kbs, settings=body.settings
    )
    return ConversationPublic.model_validate(conversation.to_json())


@router.delete("/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, state: StateDep, principal: PrincipalDep) -> Response:
    state.conversations.delete(principal.name, conversation_id)
    return Response(status_code=204)


@router.delete("/{conversation_id}/messages/{message_id}", status_code=204)
def delete_message(
    conversation_id: str, message_id: str, state: StateDep, principal: PrincipalDep
) -> Response:
    """Remove a question and its answer (either id removes both), e.g. to ask again."""
    state.conversations.remove_turn(principal.name, conversation_id, message_id)
    return Response(status_code=204)


@router.put("/{conversation_id}/messages/{message_id}/feedback", status_code=204)
def give_feedback(
    conversation_id: str,
    message_id: str,
    body: FeedbackCreate,
    state: StateDep,
    principal: PrincipalDep,
) -> Response:
    """Thumbs up or down on an answer, with an optional reason; giving it again replaces it."""
    state.conversations.get(principal.name, conversation_id)
    rating = 1 if body.rating == "up" else -1
    state.conversations.set_feedback(principal.name, message_id, rating, body.reason)
    return Response(status_code=204)
