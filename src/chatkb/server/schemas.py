"""Bodies of the REST API (``/api``): ``XCreate`` in, ``XPublic`` and ``XsPublic`` out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatkb.filters import SearchFilter
from chatkb.kb_names import NAME_PATTERN

Name = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
# A reference to a knowledge base in a list: never empty, always a possible name.
KbName = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- knowledge bases --------------------------------------------------------------------------


class KBCreate(_In):
    name: str = Name
    description: str = Field("", max_length=2000)
    embedder: str | None = Field(None, max_length=200, description="default: [embedder] name")
    chunk_size: int | None = Field(None, ge=50, le=8000)
    chunk_overlap: int | None = Field(None, ge=0, le=4000)
    window_chars: int | None = Field(
        None, ge=0, le=8000, description="sentence windows embedded per chunk; 0 = whole chunks"
    )


class KBUpdate(_In):
    description: str = Field(..., max_length=2000)


class KBPublic(BaseModel):
    name: str
    description: str
    embedder: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    window_chars: int
    created_at: str
    documents: int
    chunks: int
    chars: int
    bytes: int
    active_jobs: int = 0


class KBsPublic(BaseModel):
    data: list[KBPublic]
    count: int


# -- documents and jobs -----------------------------------------------------------------------

DocumentStatus = Literal["indexed", "pending", "failed", "not_indexed"]


class DocumentPublic(BaseModel):
    source: str
    status: DocumentStatus
    doc_id: str | None = None
    file_type: str | None = None
    title: str | None = None
    size: int | None = None
    chunk_count: int = 0
    chars: int = 0
    added_at: str | None = None
    updated_at: str | None = None
    has_original: bool = False
    error: str | None = None


class DocumentsPublic(BaseModel):
    data: list[DocumentPublic]
    count: int


class FileOutcomePublic(BaseModel):
    source: str
    status: str
    chunks: int = 0
    embedded: int = 0
    error: str | None = None


class JobPublic(BaseModel):
    id: str
    kb: str
    kind: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    files_total: int
    files_done: int
    current: str | None
    embedded: int
    embed_total: int
    counts: dict[str, int]
    files: list[FileOutcomePublic]
    error: str | None
    created_at: float
    finished_at: float | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class UploadPublic(BaseModel):
    sources: list[str] = Field(description="names the files were saved and indexed under")
    job: JobPublic | None = Field(description="the ingestion job, unless index=false")


class RemovedPublic(BaseModel):
    source: str
    removed_from_index: bool
    removed_file: bool


# -- chunks -----------------------------------------------------------------------------------


class ChunkPublic(BaseModel):
    chunk_id: str
    doc_id: str
    source: str
    text: str
    start: int
    end: int
    page: int | None
    heading_path: list[str]


class ChunksPublic(BaseModel):
    data: list[ChunkPublic]
    count: int


class ChunkUpdate(_In):
    text: str = Field(..., min_length=1, max_length=20000)


# -- search and chat --------------------------------------------------------------------------


class FiltersIn(_In):
    """Metadata filters; a passage passes when its document passes every given condition."""

    source: str | None = Field(None, max_length=500, description="glob, e.g. policies/*.pdf")
    file_types: list[str] = Field(default_factory=list, max_length=50, description="pdf, docx…")
    added_after: datetime | None = Field(None, description="inclusive, ISO date or time")
    added_before: datetime | None = Field(None, description="exclusive")

    def to_filter(self) -> SearchFilter:
        return SearchFilter(
            source=self.source,
            file_types=tuple(t.lower().lstrip(".") for t in self.file_types),
            added_after=_utc(self.added_after),
            added_before=_utc(self.added_before),
        )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=UTC)


class SearchRequest(_In):
    query: str = Field(..., min_length=1, max_length=4000)
    kbs: list[KbName] = Field(..., min_length=1, max_length=20)
    top_k: int | None = Field(None, ge=1, le=200)
    filters: FiltersIn | None = None
    score_threshold: float | None = Field(
        None, ge=0, le=1, description="drop passages whose score is below this"
    )


class HitPublic(BaseModel):
    rank: int
    score: float = Field(description="higher is better, 0..1")
    text: str
    source: str
    doc_id: str
    chunk_id: str
    page: int | None
    start: int
    end: int
    heading_path: list[str]
    dense_score: float | None
    keyword_score: float | None
    kb: str | None


class HitsPublic(BaseModel):
    data: list[HitPublic]
    count: int


class MessageIn(_In):
    role: Literal["user", "assistant"]
    content: str = Field(..., max_length=20000)


class ChatRequest(_In):
    question: str = Field(..., min_length=1, max_length=4000)
    kbs: list[KbName] = Field(
        default_factory=list,
        max_length=20,
        description="knowledge bases to answer from; none: the plain LLM, without retrieval",
    )
    top_k: int | None = Field(None, ge=1, le=50)
    conversation_id: str | None = Field(
        None,
        max_length=64,
        description="continue this conversation; a new one is created if absent",
    )
    history: list[MessageIn] = Field(
        default_factory=list, max_length=50, description="earlier turns, when not stored"
    )
    filters: FiltersIn | None = None
    stream: bool = Field(True, description="SSE events (token, citations, done) or one JSON")
    score_threshold: float | None = Field(
        None, ge=0, le=1, description="drop passages whose score is below this"
    )
    min_relevance: float | None = Field(
        None,
        ge=0,
        le=1,
        description="'not in the knowledge base' cut; 0 answers from whatever was found; "
        "default: [retrieval] min_relevance",
    )
    rewrite: bool | None = Field(
        None, description="follow-ups: also search the LLM's rewrite; default: [retrieval] rewrite"
    )
    temperature: float | None = Field(None, ge=0, le=2, description="default: [llm] temperature")
    max_tokens: int | None = Field(None, ge=1, description="default: [llm] max_tokens")
    stop: list[str] | None = Field(None, max_length=4, description="stop sequences for the LLM")
    language: Literal["auto", "zh", "en"] | None = Field(
        None, description="answer language; default: the knowledge base's"
    )
    model: str | None = Field(
        None, max_length=300, description="another model of the LLM server; default: [llm] model"
    )
    regenerate: bool = Field(
        False, description="replace the conversation's last question and answer with this one"
    )
    store: bool = Field(
        True,
        description="keep the question and answer as a conversation (false for scripts: "
        "nothing is stored and conversation_id is empty)",
    )


class CitationPublic(BaseModel):
    n: int
    source: str
    page: int | None
    text: str
    score: float
    doc_id: str
    chunk_id: str
    start: int
    end: int
    kb: str | None = Field(None, description="the knowledge base the passage came from")
    url: str | None = Field(
        None, description="the original file (#page=N for pages); null when none is kept"
    )


class SourcePublic(BaseModel):
    source: str
    doc_id: str
    citations: list[int] = Field(..., description="the numbers [n] of its cited passages")
    label: str = Field(..., description="the document once, with its cited pages")
    kb: str | None = None
    url: str | None = Field(None, description="the original file; null when none is kept")


class AnswerPublic(BaseModel):
    answer: str
    citations: list[CitationPublic] = Field(..., description="only the passages cited by [n]")
    sources: list[SourcePublic] = Field(
        default_factory=list, description="each cited document once, with its passages' [n]"
    )
    model: str
    extractive: bool
    found: bool
    grounded: bool = Field(False, description="false when the answer cites no passage")
    conversation_id: str
    message_id: str


# -- conversations ----------------------------------------------------------------------------


MAX_SETTINGS_BYTES = 4096
SETTINGS_HELP = "the client's answer settings (opaque JSON, at most 4 KB), returned as is"


class _ConversationFields(_In):
    @field_validator("settings", check_fields=False)
    @classmethod
    def _small(cls, value: dict[str, object] | None) -> dict[str, object] | None:
        size = 0 if value is None else len(json.dumps(value, ensure_ascii=False).encode())
        if size > MAX_SETTINGS_BYTES:
            raise ValueError(f"settings must be at most {MAX_SETTINGS_BYTES} bytes of JSON")
        return value


class ConversationCreate(_ConversationFields):
    title: str = Field("", max_length=200)
    kbs: list[KbName] = Field(default_factory=list, max_length=20)
    settings: dict[str, object] = Field(default_factory=dict, description=SETTINGS_HELP)


class ConversationUpdate(_ConversationFields):
    """Only the fields given change."""

    title: str | None = Field(None, min_length=1, max_length=200)
    kbs: list[KbName] | None = Field(None, max_length=20)
    settings: dict[str, object] | None = Field(None, description=SETTINGS_HELP)


class ConversationPublic(BaseModel):
    id: str
    title: str
    kbs: list[str]
    created_at: str
    updated_at: str
    settings: dict[str, object] = Field(default_factory=dict)


class ConversationsPublic(BaseModel):
    data: list[ConversationPublic]
    count: int


class FeedbackPublic(BaseModel):
    rating: Literal["up", "down"]
    reason: str


class MessagePublic(BaseModel):
    id: str
    role: str
    content: str
    citations: list[CitationPublic]
    model: str | None
    created_at: str
    feedback: FeedbackPublic | None


class ConversationDetail(ConversationPublic):
    messages: list[MessagePublic]


class FeedbackCreate(_In):
    rating: Literal["up", "down"]
    reason: str = Field("", max_length=2000)


# -- system -----------------------------------------------------------------------------------


class StoreHealthPublic(BaseModel):
    backend: str
    reachable: bool


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]  # degraded: a configured store cannot be reached
    stores: list[StoreHealthPublic] = []


class VersionPublic(BaseModel):
    name: Literal["chatkb"]
    version: str


class GpuPublic(BaseModel):
    present: bool
    name: str | None = Field(description="the GPU model(s), from the NVIDIA driver")
    cuda: str | None = Field(description="the newest CUDA version the driver supports")
    driver: str | None
    count: int


class StatusPublic(BaseModel):
    version: str
    embedder: dict[str, object] = Field(description="name, model, device, dim")
    llm: dict[str, object] = Field(description="backend, name, model, device, base_url")
    store: dict[str, int]
    jobs: dict[str, int]
    auth: bool
    gpu: GpuPublic
    warnings: list[str] = Field(description="what an operator should fix or know")


class EmbedderPublic(BaseModel):
    name: str
    default: bool


class EmbeddersPublic(BaseModel):
    data: list[EmbedderPublic]
    count: int


class ModelPublic(BaseModel):
    id: str
    default: bool


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int
