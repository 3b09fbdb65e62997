"""Langchain-Chatchat-compatible ``/knowledge_base/*`` management routes (docs/api.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from fnmatch import fnmatchcase
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Body, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from chatkb.embedders import EMBEDDERS
from chatkb.errors import AlreadyExistsError
from chatkb.ingest import SourceFile, remove
from chatkb.kb import KnowledgeBase
from chatkb.server import files as originals
from chatkb.server.answers import find
from chatkb.server.auth import Principal
from chatkb.server.chatchat import VS_TYPE, document, file_detail, keep, ok, sql_like_to_glob
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.documents import document_list, original_file, save_uploads
from chatkb.server.jobs import Job
from chatkb.server.state import ServerState
from chatkb.server.streaming import sse, sse_response

router = APIRouter(prefix="/knowledge_base", tags=["langchain-chatchat"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateKB(_Body):
    knowledge_base_name: str = Field(..., max_length=64)
    vector_store_type: str = VS_TYPE
    kb_info: str = Field("", max_length=2000)
    embed_model: str = ""


class SearchDocs(_Body):
    query: str = Field("", max_length=4000)
    knowledge_base_name: str = Field(..., max_length=64)
    top_k: int = Field(3, ge=1, le=200)
    score_threshold: float = Field(2.0, ge=0, le=2)
    file_name: str = Field("", max_length=500)
    metadata: dict[str, object] = Field(default_factory=dict)


class DocsChange(_Body):
    knowledge_base_name: str = Field(..., max_length=64)
    file_names: list[str] = Field(..., max_length=1000)
    delete_content: bool = False


class UpdateInfo(_Body):
    knowledge_base_name: str = Field(..., max_length=64)
    kb_info: str = Field(..., max_length=2000)


class Recreate(_Body):
    knowledge_base_name: str = Field(..., max_length=64)
    allow_empty_kb: bool = True


@router.get("/list_knowledge_bases")
def list_knowledge_bases(
    state: StateDep,
    principal: PrincipalDep,
    shape: Annotated[Literal["names", "details"] | None, Query()] = None,
) -> dict[str, object]:
    """0.3 answers knowledge-base details, 0.2.x a list of names (its web UI's chat page
    shows them in a select box): chosen as for ``list_files``."""
    names = state.readable_names(principal)
    if _shape(state, shape) == "names":
        return ok(data=names)
    data = []
    for number, name in enumerate(names, 1):
        kb = state.library.open(name)
        stats = kb.stats()
        c = kb.config
        data.append(
            {"id": number, "kb_name": name, "kb_info": c.description, "vs_type": VS_TYPE,
             "embed_model": c.embedder, "file_count": stats.documents,
             "create_time": c.created_at}
        )  # fmt: skip
    return ok(data=data)


@router.post("/create_knowledge_base")
def create_knowledge_base(
    body: CreateKB, state: StateDep, principal: PrincipalDep
) -> dict[str, object]:
    """``embed_model`` is used when chatkb has an embedder of that name, else the default."""
    name = body.knowledge_base_name.strip()
    principal.require(name, "admin")
    if name in state.library.names():
        raise AlreadyExistsError(f"knowledge base {name!r} already exists")
    embedder = body.embed_model if body.embed_model in EMBEDDERS.names() else None
    state.library.create(name, description=body.kb_info, embedder=embedder)
    return ok(f"created knowledge base {name}")


@router.post("/delete_knowledge_base")
def delete_knowledge_base(
    knowledge_base_name: Annotated[str, Body(max_length=64)],
    state: StateDep,
    principal: PrincipalDep,
) -> dict[str, object]:
    """The body is the bare JSON string of the name, as Chatchat's client sends it."""
    state.open_kb(knowledge_base_name, principal, "admin")
    state.jobs.cancel_all(knowledge_base_name)
    state.library.delete(knowledge_base_name)
    return ok(f"deleted knowledge base {knowledge_base_name}")


@router.get("/list_files")
def list_files(
    knowledge_base_name: Annotated[str, Query(max_length=64)],
    state: StateDep,
    principal: PrincipalDep,
    shape: Annotated[Literal["names", "details"] | None, Query()] = None,
) -> dict[str, object]:
    """0.3 answers file details, 0.2.x a list of file names: ``server.chatchat_version``
    chooses for every request, ``shape`` for one (chatkb's addition)."""
    kb = state.open_kb(knowledge_base_name, principal)
    docs = document_list(state, kb)
    if _shape(state, shape) == "names":
        return ok(data=[d.source for d in docs])
    return ok(data=[file_detail(kb.name, n, d) for n, d in enumerate(docs, 1)])


def _shape(state: ServerState, shape: str | None) -> str:
    """The request's ``shape``, else the one of ``server.chatchat_version``."""
    if shape is not None:
        return shape
    return "names" if state.settings.server.chatchat_version == "0.2" else "details"


@router.post("/search_docs")
async def search_docs(
    body: SearchDocs, state: StateDep, principal: PrincipalDep
) -> list[dict[str, object]]:
    """A bare list (no envelope), as in Chatchat; an empty query lists chunks by file name."""
    return await state.searching(_search_docs, body, state, principal)


def _search_docs(
    body: SearchDocs, state: ServerState, principal: Principal
) -> list[dict[str, object]]:
    kb = state.open_kb(body.knowledge_base_name, principal)
    if body.query:
        hits = find(state, [kb], body.query, top_k=body.top_k)
        return [document(h) for h in keep(hits, body.score_threshold)]
    if not body.file_name:
        return []
    return _list_chunks(kb, sql_like_to_glob(body.file_name))


def _list_chunks(kb: KnowledgeBase, pattern: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for record in kb.documents():
        if fnmatchcase(record.source, pattern):
            for chunk in kb.chunks(record.doc_id):
                metadata = {"source": chunk.source, "page": chunk.page, "doc_id": chunk.doc_id}
                out.append(
                    {"page_content": chunk.text, "metadata": metadata, "type": "Document",
                     "id": chunk.chunk_id, "score": None}
                )  # fmt: skip
    return out


@router.post("/upload_docs")
def upload_docs(
    files: Annotated[list[UploadFile], File()],
    knowledge_base_name: Annotated[str, Form(max_length=64)],
    state: StateDep,
    principal: PrincipalDep,
    override: Annotated[bool, Form()] = False,
    to_vector_store: Annotated[bool, Form()] = True,
) -> dict[str, object]:
    """Save, then index in the background, waiting up to ``server.chatchat_upload_wait``
    seconds: files still indexing then are listed in ``data.pending_files`` (with the
    ``data.job_id`` to follow at ``/api/jobs/{id}``) and finish on their own. Chatchat's
    chunking fields are ignored (the knowledge base keeps the chunking it was created with)."""
    kb = state.open_kb(knowledge_base_name, principal, "write")
    failed: dict[str, str] = {}
    if not override:
        existing = set(originals.stored_sources(kb))
        for upload in files:
            name = originals.sanitise_name(upload.filename or "upload")
            if name in existing:
                failed[name] = f"file {name} already exists"
        files = [f for f in files if originals.sanitise_name(f.filename or "upload") not in failed]
    saved = save_uploads(state, kb, files)
    saved += [SourceFile(originals.stored_path(kb, s), s) for s in failed]
    if not (to_vector_store and saved):
        return ok("files uploaded", {"failed_files": failed})
    job = state.jobs.submit(kb.name, saved)
    job.done_event.wait(state.settings.server.chatchat_upload_wait)
    failed.update(_failures(job))
    if job.finished:
        return ok("files uploaded and indexed", {"failed_files": failed})
    done = {o.source for o in job.outcomes}
    pending = [s for s in job.sources if s not in done]
    msg = f"files uploaded; {len(pending)} still indexing in the background (job {job.id})"
    return ok(msg, {"failed_files": failed, "pending_files": pending, "job_id": job.id})


def _run(state: ServerState, kb: str, files: list[SourceFile]) -> dict[str, str]:
    job = state.jobs.submit(kb, files)
    job.done_event.wait()
    return _failures(job)


def _failures(job: Job) -> dict[str, str]:
    failed = {o.source: o.error or "failed" for o in job.outcomes if o.status == "failed"}
    if job.error:
        failed.update({s: job.error for s in job.sources if s not in failed})
    return failed


@router.post("/delete_docs")
def delete_docs(body: DocsChange, state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    kb = state.open_kb(body.knowledge_base_name, principal, "write")
    names = [originals.document_name(kb, name) for name in body.file_names]
    report = remove(kb, names)
    failed = {o.source: f"file {o.source} not found" for o in report.failed}
    if body.delete_content:
        for name in names:
            if originals.delete_original(kb, name):
                failed.pop(name, None)
    return ok("files deleted", {"failed_files": failed})


@router.post("/update_docs")
def update_docs(body: DocsChange, state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    """Index the saved originals again (unchanged files are skipped, changed ones replaced)."""
    kb = state.open_kb(body.knowledge_base_name, principal, "write")
    files, failed = [], {}
    for name in (originals.document_name(kb, name) for name in body.file_names):
        path = originals.stored_path(kb, name)
        if path.is_file():
            files.append(SourceFile(path, name))
        else:
            failed[name] = f"file {name} not found in the knowledge base's files"
    if files:
        failed.update(_run(state, kb.name, files))
    return ok("documents updated", {"failed_files": failed})


@router.post("/update_info")
def update_info(body: UpdateInfo, state: StateDep, principal: PrincipalDep) -> dict[str, object]:
    state.open_kb(body.knowledge_base_name, principal, "write")
    state.library.update_description(body.knowledge_base_name, body.kb_info)
    return ok("knowledge base description updated", {"kb_info": body.kb_info})


@router.get("/download_doc", response_class=FileResponse)
def download_doc(
    knowledge_base_name: Annotated[str, Query(max_length=64)],
    file_name: Annotated[str, Query(max_length=1000)],
    state: StateDep,
    principal: PrincipalDep,
    preview: bool = False,
) -> FileResponse:
    kb = state.open_kb(knowledge_base_name, principal)
    return original_file(kb, file_name, download=not preview)


@router.post("/recreate_vector_store", response_class=StreamingResponse)
def recreate_vector_store(
    body: Recreate, request: Request, state: StateDep, principal: PrincipalDep
) -> StreamingResponse:
    """Index every saved original again; SSE progress ``{code, msg, total, finished, doc}``."""
    name = body.knowledge_base_name
    if body.allow_empty_kb and name not in state.library.names():
        principal.require(name, "admin")
        state.library.create(name)
    kb = state.open_kb(name, principal, "write")
    sources = originals.stored_sources(kb)
    files = [SourceFile(originals.stored_path(kb, s), s) for s in sources]
    return sse_response(_progress(state.jobs.submit(name, files, kind="recreate")))


async def _progress(job: Job) -> AsyncIterator[str]:
    seen, total = 0, len(job.sources)
    while True:
        for outcome in job.outcomes[seen:]:
            seen += 1
            if outcome.status == "failed":
                yield sse({"code": 500, "msg": f"{outcome.source}: {outcome.error}; skipped"})
            else:
                msg = f"({seen} / {total}): {outcome.source}"
                yield sse({"code": 200, "msg": msg, "total": total, "finished": seen,
                           "doc": outcome.source})  # fmt: skip
        if job.finished and seen >= len(job.outcomes):
            if job.error:
                yield sse({"code": 500, "msg": job.error})
            return
        await anyio.sleep(0.2)
