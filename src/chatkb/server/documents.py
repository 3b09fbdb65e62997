"""What the document APIs (``/api`` and Chatchat's) share: saving uploads as originals, the
document list with each file's status, and serving an original safely.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import UploadFile
from fastapi.responses import FileResponse

from chatkb.errors import PayloadTooLargeError
from chatkb.ingest import SourceFile
from chatkb.kb import KnowledgeBase
from chatkb.server import files as originals
from chatkb.server.jobs import Job
from chatkb.server.schemas import DocumentPublic
from chatkb.server.state import ServerState

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


def original_file(kb: KnowledgeBase, source: str, *, download: bool = False) -> FileResponse:
    """The original file; PDFs and text open inline (``#page=N`` works) unless ``download``."""
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
