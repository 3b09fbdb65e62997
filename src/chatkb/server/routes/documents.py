"""``/api/kbs/{name}/documents``: upload, list, download or preview, re-index, delete.

Uploads are saved under the knowledge base's ``files/`` folder, then indexed by a
background job (see ``/api/jobs``). Documents are named by their source, URL-encoded.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from chatkb.errors import NotFoundError
from chatkb.ingest import SourceFile, remove
from chatkb.server import files as originals
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.documents import document_list, original_file, save_uploads
from chatkb.server.jobs import Job
from chatkb.server.schemas import (
    DocumentPublic,
    DocumentsPublic,
    JobPublic,
    RemovedPublic,
    UploadPublic,
)

router = APIRouter(prefix="/api/kbs/{name}/documents", tags=["documents"])


@router.post("", response_model=UploadPublic, status_code=202)
def upload(
    name: str,
    files: Annotated[list[UploadFile], File(description="one or more files")],
    state: StateDep,
    principal: PrincipalDep,
    index: Annotated[bool, Form(description="index them now (a background job)")] = True,
) -> UploadPublic:
    """Save files as originals and queue them for indexing; follow the job for progress."""
    kb = state.open_kb(name, principal, "write")
    saved = save_uploads(state, kb, files)
    job = state.jobs.submit(name, saved) if index and saved else None
    return UploadPublic(sources=[s.source for s in saved], job=_job(job))


@router.get("", response_model=DocumentsPublic)
def list_documents(name: str, state: StateDep, principal: PrincipalDep) -> DocumentsPublic:
    """Indexed documents and uploaded files still pending or failed, with chunk counts."""
    kb = state.open_kb(name, principal)
    data = document_list(state, kb)
    return DocumentsPublic(data=data, count=len(data))


@router.get("/{source:path}/file", response_class=FileResponse)
def download(
    name: str, source: str, state: StateDep, principal: PrincipalDep, download: bool = False
) -> FileResponse:
    """The original file; PDFs and text open inline (``#page=N`` works) unless download=true."""
    return original_file(state.open_kb(name, principal), source, download=download)


@router.post("/{source:path}/reindex", response_model=JobPublic, status_code=202)
def reindex(name: str, source: str, state: StateDep, principal: PrincipalDep) -> JobPublic:
    """Load, split and index the original again (vectors of unchanged text are reused)."""
    kb = state.open_kb(name, principal, "write")
    source = originals.document_name(kb, source)
    path = originals.original_path(kb, source)
    # Not removed first: the new version replaces the old in one write, so a failure or a
    # kill mid-way leaves the document indexed as it was.
    job = state.jobs.submit(name, [SourceFile(path, source)], kind="reindex", force=True)
    return JobPublic.model_validate(job.to_json())


@router.get("/{source:path}", response_model=DocumentPublic)
def get_document(
    name: str, source: str, state: StateDep, principal: PrincipalDep
) -> DocumentPublic:
    kb = state.open_kb(name, principal)
    source = originals.document_name(kb, source)
    for document in document_list(state, kb):
        if document.source == source:
            return document
    raise NotFoundError(f"no document {source!r} in knowledge base {name!r}")


@router.delete("/{source:path}", response_model=RemovedPublic)
def delete_document(
    name: str, source: str, state: StateDep, principal: PrincipalDep, keep_file: bool = False
) -> RemovedPublic:
    """Remove a document from every index, and its uploaded original unless keep_file."""
    kb = state.open_kb(name, principal, "write")
    source = originals.document_name(kb, source)
    removed = remove(kb, [source]).count("removed") > 0
    deleted = False if keep_file else originals.delete_original(kb, source)
    if not removed and not deleted:
        raise NotFoundError(f"no document {source!r} in knowledge base {name!r}")
    return RemovedPublic(source=source, removed_from_index=removed, removed_file=deleted)


def _job(job: Job | None) -> JobPublic | None:
    return None if job is None else JobPublic.model_validate(job.to_json())
