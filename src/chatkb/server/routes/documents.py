"""``/api/kbs/{name}/documents``: upload, list, download or preview, re-index, delete.

Uploads are saved under the knowledge base's ``files/`` folder, then indexed by a
background job (see ``/api/jobs``). Documents are named by their source, URL-encoded.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from chatkb.errors import NotFoundError, PayloadTooLargeError
from chatkb.ingest import SourceFile, remove
from chatkb.kb import KnowledgeBase
from chatkb.server import files as originals
from chatkb.server.deps import PrincipalDep, StateDep
from chatkb.server.jobs import Job
from chatkb.server.schemas import (
    DocumentPublic,
    DocumentsPublic,
    JobPublic,
    RemovedPublic,
    UploadPublic,
)
from chatkb.server.state import ServerState

router = APIRouter(prefix="/api/kbs/{name}/documents", tags=["documents"])
INLINE_TYPES = {"application/pdf", "text/plain", "text/markdown", "image/png", "image/jpeg"}
# Originals are whatever users uploaded: never a document that runs script in this origin.
# Chromium's PDF viewer refuses sandboxed documents and runs PDF script apart from the page;
# everything else opens sandboxed (an opaque origin) or downloads.
ORIGINAL_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"


def save_uploads(
    state: ServerState, kb: KnowledgeBase, uploads: list[UploadFile]
) -> list[SourceFile]:
    """Save uploads as originals; checks the file-count and per-file size limits."""
    limits = state.settings.server
    if len(uploads) > limits.max_files:
        raise PayloadTooLargeError(
            f"{len(uploads)} files in one request; the limit is {limits.max_files} "
            "(server.max_files): upload them in several requests"
        )
    saved: list[SourceFile] = []
    for upload in uploads:
        name = upload.filename or "upload"
        source = originals.save_upload(kb, name, upload.file, limits.max_upload_mb * 2**20)
        saved.append(SourceFile(originals.stored_path(kb, source), source))
    return saved


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
    kb = state.open_kb(name, principal)
    path = originals.original_path(kb, originals.document_name(kb, source))
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    inline = not download and media_type in INLINE_TYPES
    pdf = inline and media_type == "application/pdf"
    return FileResponse(
        path,
        media_type=media_type,
        filename=path.name,
        content_disposition_type="inline" if inline else "attachment",
        headers={"Content-Security-Policy": PDF_CSP if pdf else ORIGINAL_CSP},
    )


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


def document_list(state: ServerState, kb: KnowledgeBase) -> list[DocumentPublic]:
    stored = set(originals.stored_sources(kb))
    pending = {s for job in state.jobs.active(kb.name) for s in job.sources}
    failed = _last_failures(state.jobs.recent(kb.name))
    documents: dict[str, DocumentPublic] = {}
    for record in kb.documents():
        fields = record.to_json()
        fields.pop("path")
        fields.pop("content_hash")
        status = "pending" if record.source in pending else "indexed"
        has_original = record.source in stored or Path(record.path).is_file()
        documents[record.source] = DocumentPublic.model_validate(
            {**fields, "status": status, "has_original": has_original}
        )
    for source in sorted(stored - documents.keys()):
        status = "pending" if source in pending else "failed" if source in failed else "not_indexed"
        documents[source] = DocumentPublic(
            source=source, status=status, has_original=True, error=failed.get(source)
        )
    return sorted(documents.values(), key=lambda d: d.source)


def _last_failures(jobs: list[Job]) -> dict[str, str]:
    failed: dict[str, str] = {}
    for job in sorted(jobs, key=lambda j: j.created_at):
        for outcome in job.outcomes:
            if outcome.status == "failed":
                failed[outcome.source] = outcome.error or "failed"
            else:
                failed.pop(outcome.source, None)
    return failed


def _job(job: Job | None) -> JobPublic | None:
    return None if job is None else JobPublic.model_validate(job.to_json())
