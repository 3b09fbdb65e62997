"""``chatkb add`` into a knowledge base on a real PostgreSQL with pgvector: a file whose text
holds NUL characters (which PostgreSQL refuses in text) goes in with the others, written in
the same group, where it used to end the whole run with a database error."""

from __future__ import annotations

from pathlib import Path

import pytest

from _datasets import doc
from _store_servers import pg_dsn  # noqa: F401  (session fixture)
from chatkb.ingest import discover, ingest
from chatkb.kb import Library
from chatkb.retrieve import retrieve
from chatkb.settings import load_settings

pytestmark = pytest.mark.server


def test_files_with_nul_bytes_go_in_with_their_group(
    home: Path,
    tmp_path: Path,
    pg_dsn: str,  # noqa: F811
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ibm.md").write_bytes(doc("en_wiki_ibm.md").read_bytes())
    # JSON escapes reach the text as NUL characters (a text file with NUL bytes is refused
    # as binary before that).
    log = '{"note": "pump\\u0000 P-101 tripped on low\\u0000 suction pressure"}\n'
    (folder / "log.json").write_text(log, encoding="utf-8")
    settings = load_settings(store={"pgvector": {"dsn": pg_dsn}}, embedder={"threads": 1})
    library = Library(settings)
    kb = library.create("nul", store="pgvector")
    try:
        report = ingest(kb, discover([folder]), settings)
        assert [(o.source, o.status) for o in report.outcomes] == [
            ("ibm.md", "added"),
            ("log.json", "added"),
        ]
        (chunk,) = kb.chunks(kb.find_document("log.json").doc_id)  # type: ignore[union-attr]
        assert chunk.text == "note: pump P-101 tripped on low suction pressure"
        hits = retrieve([kb], "P-101 suction pressure", settings.retrieval, top_k=1)
        assert hits[0].source == "log.json"
        assert kb.store.check_consistency() == []
    finally:
        kb.close()
        library.delete("nul")
