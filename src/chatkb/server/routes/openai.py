"""OpenAI-compatible ``/v1``: models, chat completions (retrieval or plain LLM), embeddings.

Every knowledge base is a model named ``kb:NAME`` (``kb:a,b`` searches several). Its answers
carry the cited passages twice: in the extra top-level field ``citations`` (on the last
chunk when streaming) and as a "Sources:" footer in the text, for clients that show text only.
The configured LLM, if any, is listed under its own name and proxied unchanged.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from chatkb.embedders import Embedder, embed_batched
from chatkb.errors import InvalidInputError, NotFoundError
from chatkb.models import Answer, Message
from chatkb.server.answers import sources_footer, start_answer
from chatkb.server.auth import Principal
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.llm_proxy import proxy_chat
from chatkb.server.state import ServerState
from chatkb.server.streaming import error_event, in_thread, iterate_in_thread, sse, sse_response

router = APIRouter(prefix="/v1", tags=["openai"])
KB_PREFIX = "kb:"
STARTED = int(time.time())


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(..., max_length=32)
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(..., min_length=1, max_length=300)
    messages: list[ChatMessageIn] = Field(..., min_length=1, max_length=200)
    stream: bool | None = False
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    top_k: int | None = Field(None, ge=1, le=50, description="chatkb: passages to retrieve")


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(..., min_length=1, max_length=300)
    input: str | list[str] = Field(..., description="text or texts (at most 256)")
    encoding_format: Literal["float", "base64"] | None = None
    input_type: Literal["query", "passage"] = Field(
        "passage", description="chatkb: e5-style prefix; 'query' for search queries"
    )


@router.get("/models")
def list_models(state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    """Each readable knowledge base as ``kb:NAME``, then the configured LLM."""
    ids = model_ids(state, principal)
    data = [{"id": i, "object": "model", "created": STARTED, "owned_by": "chatkb"} for i in ids]
    return {"object": "list", "data": data}


def model_ids(state: ServerState, principal: Principal) -> list[str]:
    ids = [KB_PREFIX + name for name in state.readable_names(principal)]
    if state.chat_model is not None:
        ids.append(state.chat_model.name)
    return ids


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, state: StateDep, principal: PrincipalDep
) -> Response | dict[str, object]:
    """Chat completions; ``kb:NAME`` models answer from the knowledge base with citations."""
    if not body.model.startswith(KB_PREFIX):
        return await _plain_llm(state, principal, body)
    question, history = split_messages(body.messages)
    kbs = await in_thread(state.open_kbs, [body.model[len(KB_PREFIX) :]], principal)
    stream = await in_thread(
        lambda: start_answer(state, kbs, question, history=history, top_k=body.top_k)
    )
    completion_id = "chatcmpl-" + uuid.uuid4().hex
    if body.stream:
        return sse_response(_chunks(stream, body.model, completion_id))
    answer = await in_thread(stream.result)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.answer + sources_footer(answer)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "citations": _citations(answer),
    }


async def _plain_llm(
    state: ServerState, principal: Principal, body: ChatCompletionRequest
) -> Response:
    if state.chat_model is None or body.model != state.chat_model.name:
        known = ", ".join(model_ids(state, principal))
        raise NotFoundError(f"no model {body.model!r}; available: {known or 'none'}")
    payload = body.model_dump(exclude_none=True, exclude={"top_k"})
    timeout = state.settings.llm.timeout
    return await proxy_chat(state.chat_model, payload, stream=bool(body.stream), timeout=timeout)


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a message; content parts other than text are ignored."""
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


def split_messages(messages: list[ChatMessageIn]) -> tuple[str, list[Message]]:
    """The last user message is the question; earlier user/assistant turns are history."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not text_of(turns[-1].content).strip():
        raise InvalidInputError("the last message must be a non-empty user message")
    history = [
        Message("user" if m.role == "user" else "assistant", text_of(m.content)) for m in turns[:-1]
    ]
    return text_of(turns[-1].content), history


def _chunk(
    completion_id: str, model: str, delta: dict[str, str], finish: str | None = None
) -> dict[str, object]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def _chunks(stream: Any, model: str, completion_id: str) -> AsyncIterator[str]:
    yield sse(_chunk(completion_id, model, {"role": "assistant", "content": ""}))
    try:
        async for piece in iterate_in_thread(iter(stream)):
            yield sse(_chunk(completion_id, model, {"content": piece}))
        answer: Answer = await in_thread(stream.result)
    except Exception as exc:
        yield sse(error_event(exc))
        yield sse("[DONE]")
        return
    footer = sources_footer(answer)
    if footer:
        yield sse(_chunk(completion_id, model, {"content": footer}))
    yield sse({**_chunk(completion_id, model, {}, "stop"), "citations": _citations(answer)})
    yield sse("[DONE]")


def _citations(answer: Answer) -> list[dict[str, object]]:
    return [c.to_json() for c in answer.citations]


@router.post("/embeddings")
def embeddings(body: EmbeddingRequest, state: StateDep, principal: PrincipalDep) -> JSONResponse:
    """Vectors from the default embedder (or a knowledge base's, as ``kb:NAME``)."""
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts or len(texts) > 256:
        raise InvalidInputError("give between 1 and 256 input texts")
    embedder = _embedder(state, principal, body.model)
    vectors = embed_batched(
        embedder, texts, kind=body.input_type, batch_size=state.settings.embedder.batch_size
    )
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
        for i, v in enumerate(vectors)
    ]
    tokens = sum(len(t.split()) for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JSONResponse({"object": "list", "data": data, "model": embedder.name, "usage": usage})


def _embedder(state: ServerState, principal: Principal, model: str) -> Embedder:
    if model.startswith(KB_PREFIX):
        return state.open_kb(model[len(KB_PREFIX) :], principal).embedder()
    default = state.settings.embedder.name
    if model not in (default, "default"):
        raise NotFoundError(f"no embedding model {model!r}; use {default!r} or kb:NAME")
    return state.library.embedder(default)


def _encode(vector: np.ndarray, encoding: str | None) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]
