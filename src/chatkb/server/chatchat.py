"""Shapes Langchain-Chatchat (0.3) clients expect: the ``{code, msg, data}`` envelope, file
details, ``DocumentWithVSId`` search results, ``OpenAIChatOutput`` chat chunks and references.

Scores differ: Chatchat's ``score`` is a distance (lower is better, ``score_threshold`` 0..2,
2 = keep all); chatkb's is a relevance on 0..1, higher is better. A hit is kept when
``1 - score <= score_threshold``, so the thresholds mean what Chatchat users expect.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import PurePosixPath
from urllib.parse import urlencode

from chatkb.answer import AnswerStream
from chatkb.models import Hit
from chatkb.options import AskOptions
from chatkb.server.schemas import DocumentPublic
from chatkb.server.streaming import in_thread, iterate_in_thread, sse

VS_TYPE = "chatkb"


def ok(msg: str = "success", data: object = None) -> dict[str, object]:
    return {"code": 200, "msg": msg, "data": data}


def keep(hits: Sequence[Hit], score_threshold: float) -> list[Hit]:
    return [h for h in hits if 1.0 - h.score <= score_threshold]


def with_score_threshold(options: AskOptions, score_threshold: float | None) -> AskOptions:
    """``options`` under Chatchat's ``score_threshold``, a distance (0..2, lower is stricter;
    chatkb's score is ``1 - distance``). A client that sends it chooses both cuts, as in
    Chatchat: passages with ``1 - score`` above it are dropped, and the "not in the knowledge
    base" cut becomes ``1 - score_threshold`` (Chatchat's 1.0, "no filter", answers from
    whatever was found). Not sent (None): chatkb's configured cuts."""
    if score_threshold is None:
        return options
    cut = max(0.0, 1.0 - score_threshold)
    return options.but(score_threshold=cut or None, min_relevance=cut)


def sql_like_to_glob(pattern: str) -> str:
    return pattern.replace("*", "[*]").replace("%", "*").replace("_", "?")


def file_detail(kb: str, number: int, doc: DocumentPublic) -> dict[str, object]:
    return {
        "No": number,
        "kb_name": kb,
        "file_name": doc.source,
        "file_ext": PurePosixPath(doc.source).suffix,
        "file_version": 1,
        "document_loader": doc.file_type or "",
        "docs_count": doc.chunk_count,
        "text_splitter": "chatkb",
        "create_time": doc.added_at,
        "in_folder": doc.has_original,
        "in_db": doc.status == "indexed",
        "file_mtime": doc.updated_at,
        "file_size": doc.size,
        "custom_docs": False,
    }


def document(hit: Hit) -> dict[str, object]:
    """A hit as Chatchat's ``DocumentWithVSId`` (``score`` is chatkb's: higher is better)."""
    metadata = {
        "source": hit.source,
        "page": hit.page,
        "kb": hit.kb,
        "doc_id": hit.doc_id,
        "start": hit.start,
        "end": hit.end,
        "heading_path": list(hit.heading_path),
    }
    return {
        "page_content": hit.text,
        "metadata": metadata,
        "type": "Document",
        "id": hit.chunk_id,
        "score": round(hit.score, 6),
    }


def references(hits: Sequence[Hit], base_url: str, *, links: bool = True) -> list[str]:
    """Chatchat's ``format_reference``: numbered sources, linked to ``download_doc``."""
    refs = []
    for n, hit in enumerate(hits, 1):
        name = hit.source
        if links and hit.kb:
            query = urlencode({"knowledge_base_name": hit.kb, "file_name": hit.source})
            name = f"[{hit.source}]({base_url.rstrip('/')}/knowledge_base/download_doc?{query})"
        else:
            name = f"[{hit.source}]"
        page = f" (p. {hit.page})" if hit.page else ""
        refs.append(f"出处 [{n}] {name}{page} \n\n{hit.text}\n\n")
    if not refs:
        refs.append("<span style='color:red'>未找到相关文档,该回答为大模型自身能力解答！</span>")
    return refs


def chat_output(
    content: str, *, model: str, final: bool = False, **extra: object
) -> dict[str, object]:
    """Chatchat's ``OpenAIChatOutput.model_dump()``: a chunk, or the complete message."""
    out: dict[str, object] = {
        "id": f"chat{uuid.uuid4()}",
        "object": "chat.completion" if final else "chat.completion.chunk",
        "model": model,
        "created": int(time.time()),
        "status": None,
        "message_type": 1,
        "message_id": None,
        "is_ref": False,
        **extra,
    }
    if final:
        message = {"role": "assistant", "content": content, "finish_reason": "stop"}
        out["choices"] = [{"message": {**message, "tool_calls": []}}]
    else:
        out["choices"] = [{"delta": {"content": content, "tool_calls": []}, "role": "assistant"}]
    return out


async def answer_then_docs(
    stream: AnswerStream,
    docs: list[str],
    *,
    streaming: bool,
    on_error: Callable[[Exception], dict[str, object]],
) -> AsyncIterator[str]:
    """Chatchat's answer stream: ``{"answer"}`` pieces, then ``{"docs"}`` (one event holding
    both when not streaming); a failure becomes one ``on_error`` event."""
    try:
        if streaming:
            async for piece in iterate_in_thread(iter(stream)):
                yield sse({"answer": piece})
            yield sse({"docs": docs})
        else:
            answer = await in_thread(stream.result)
            yield sse({"answer": answer.answer, "docs": docs})
    except Exception as exc:
        yield sse(on_error(exc))
