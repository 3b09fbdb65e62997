"""The ingest flow: idempotent, replaces changed files, removes from every index, crash-safe."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _datasets import datasets_dir
from chatkb.ingest import Progress, discover, ingest, remove
from chatkb.kb import Library
from chatkb.retrieve import retrieve
from chatkb.settings import Settings
from chatkb.tokenize import tokenize

ZH = datasets_dir() / "zh-dev" / "corpus"


def _copy(names: list[str], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(ZH / name, folder / name)
    return folder


class Counting(Progress):
    def __init__(self) -> None:
        self.embedded_total = 0

    def embedded(self, count: int, total: int) -> None:
        self.embedded_total = total


def test_add_is_idempotent_and_updates_changed_files(
    library: Library, settings: Settings, tmp_path: Path
) -> None:
    kb = library.create("t")
    folder = _copy(["TRIAL_109.txt", "TRIAL_110.txt"], tmp_path / "docs")
    first = ingest(kb, discover([folder]), settings)
    assert (first.count("added"), first.count("failed")) == (2, 0)
    assert kb.store.check_consistency() == []

    counting = Counting()
    again = ingest(kb, discover([folder]), settings, progress=counting)
    assert again.count("unchanged") == 2
    assert counting.embedded_total == 0, "unchanged files are not embedded again"

    target = folder / "TRIAL_110.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\n\n新增一段：紫色火车于2030年停运。")
    changed = ingest(kb, discover([folder]), settings, progress=counting)
    assert changed.count("updated") == 1
    # Only the new paragraph's chunk is new text; the rest come from the vector cache.
    assert changed.to_json()["embedded"] == 1
    hits = retrieve([kb], "紫色火车什么时候停运", settings.retrieval, top_k=1)
    assert hits[0].source == "TRIAL_110.txt"
    assert "2030" in hits[0].text
    assert kb.store.check_consistency() == []


def test_removed_document_vanishes_from_every_index(
    library: Library, settings: Settings, tmp_path: Path
) -> None:
    kb = library.create("t")
    folder = _copy(["TRIAL_109.txt", "TRIAL_110.txt"], tmp_path / "docs")
    ingest(kb, discover([folder]), settings)
    query = "马飚毕业于哪所大学"
    assert retrieve([kb], query, settings.retrieval)[0].source == "TRIAL_109.txt"

    report = remove(kb, ["TRIAL_109.txt"])
    assert report.count("removed") == 1
    sources = {h.source for h in retrieve([kb], query, settings.retrieval, top_k=10)}
    assert sources == {"TRIAL_110.txt"}
    assert kb.store.keyword_search(tokenize("马飚"), 10) == []
    assert kb.store.check_consistency() == []
    # No orphaned vectors stay behind.
    conn = kb.store.connection()
    used = conn.execute(
        "SELECT count(DISTINCT h) FROM (SELECT text_hash AS h FROM windows UNION ALL "
        "SELECT text_hash FROM chunks c WHERE NOT EXISTS "
        "(SELECT 1 FROM windows w WHERE w.chunk = c.id))"
    ).fetchone()[0]
    assert conn.execute("SELECT count(*) FROM vectors").fetchone()[0] == used > 0


def test_corrupt_pdf_fails_alone(library: Library, settings: Settings, tmp_path: Path) -> None:
    kb = library.create("t")
    folder = _copy(["TRIAL_109.txt"], tmp_path / "docs")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog" + os.urandom(300))
    (folder / "notes.md").write_text("# Notes\n\nThe blue door opens at nine.", encoding="utf-8")
    report = ingest(kb, discover([folder]), settings)
    assert report.count("added") == 2
    [failed] = report.failed
    assert failed.source == "broken.pdf"
    assert failed.error and "pdf" in failed.error.lower()
    assert {d.source for d in kb.documents()} == {"TRIAL_109.txt", "notes.md"}


def _catalog_documents(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_during_add_leaves_a_consistent_kb_that_the_next_add_completes(
    library: Library, settings: Settings, tmp_path: Path
) -> None:
    kb = library.create("t", chunk_size=200, chunk_overlap=0)
    names = sorted(p.name for p in ZH.glob("*.txt"))[:12]
    folder = _copy(names, tmp_path / "docs")
    env = {**os.environ, "CHATKB_EMBEDDER__BATCH_SIZE": "2"}
    command = [sys.executable, "-c", "from chatkb.cli.main import run; run()"]
    process = subprocess.Popen(
        [*command, "add", "t", str(folder)], env=env, stderr=subprocess.DEVNULL
    )
    catalog = kb.directory / "catalog.sqlite"
    deadline = time.monotonic() + 300
    while _catalog_documents(catalog) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = _catalog_documents(catalog)
    assert 3 <= partial < len(names), "killed in the middle of the batch"

    fresh = Library(settings).open("t")
    assert fresh.store.check_consistency() == []
    assert all(h.source in names for h in retrieve([fresh], "足球", settings.retrieval))

    report = ingest(fresh, discover([folder]), settings)
    assert report.count("unchanged") == partial
    assert report.count("added") == len(names) - partial
    assert len(fresh.documents()) == len(names)
    assert fresh.store.check_consistency() == []


@pytest.mark.parametrize("hidden", [".git/config", ".DS_Store"])
def test_discover_skips_hidden_and_names_sources_relative(tmp_path: Path, hidden: str) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.txt").write_text("x")
    (tmp_path / "a" / hidden).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "a" / hidden).write_text("secret")
    single = tmp_path / "single.md"
    single.write_text("# s")
    found = discover([tmp_path / "a", single])
    assert [f.source for f in found] == ["b/x.txt", "single.md"]


def test_discover_resolves_files_named_one_by_one_as_path_resolve_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parents are resolved once per folder; links (to the folder, to the file) and relative
    names still end where ``Path.resolve`` puts them, and keep the name they were given."""
    real = tmp_path / "real"
    real.mkdir()
    for name in ("a.txt", "b.txt", "target.txt"):
        (real / name).write_text(name)
    (tmp_path / "via").symlink_to(real)  # a linked folder
    (real / "link.txt").symlink_to(real / "target.txt")  # a linked file
    monkeypatch.chdir(real)
    given = [
        tmp_path / "via" / "a.txt",
        tmp_path / "via" / "b.txt",
        real / "link.txt",
        Path("a.txt"),
        Path("./b.txt"),
        Path("."),
    ]
    found = discover(given)
    assert [(f.path, f.source) for f in found[:5]] == [(p.resolve(), p.name) for p in given[:5]]
    assert found[2].path == (real / "target.txt").resolve()
    assert [f.source for f in found[5:]] == ["a.txt", "b.txt", "link.txt", "target.txt"]


def test_long_chunks_are_embedded_as_sentence_windows(
    library: Library, settings: Settings, tmp_path: Path
) -> None:
    folder = _copy(["TRIAL_109.txt"], tmp_path / "docs")
    windowed, whole = library.create("w"), library.create("whole", window_chars=0)
    assert (windowed.config.window_chars, whole.config.window_chars) == (250, 0)
    for kb in (windowed, whole):
        ingest(kb, discover([folder]), settings)
        assert kb.store.check_consistency() == []
    rows = (
        windowed.store.connection()
        .execute(
            "SELECT c.text, count(w.chunk) FROM chunks c LEFT JOIN windows w ON w.chunk = c.id "
            "GROUP BY c.id"
        )
        .fetchall()
    )
    assert any(n >= 2 for _, n in rows), "a 600-character chunk has several windows"
    assert all(n == 0 for text, n in rows if len(text) <= 250), "a short chunk is embedded whole"
    assert whole.store.connection().execute("SELECT count(*) FROM windows").fetchone()[0] == 0
    # A question about one sentence finds its chunk either way, and the same chunk first.
    question = "马飚是哪个民族的"
    first = [retrieve([kb], question, settings.retrieval, top_k=1)[0] for kb in (windowed, whole)]
    assert first[0].text == first[1].text and "壮族" in first[0].text


class Batches(Progress):
    """The size of each embedding batch, from the running count ``embedded`` reports."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.total = 0

    def embedded(self, count: int, total: int) -> None:
        self.sizes.append(count - sum(self.sizes))
        self.total = total


def test_small_files_share_full_embedding_batches(
    library: Library, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Texts of many small files are embedded in full batches across file boundaries: every
    batch but the last is full, each text is embedded once, and each file counts its own."""
    import chatkb.ingest

    # A short batch also goes when the next file is slow to read; not in this test.
    monkeypatch.setattr(chatkb.ingest, "GROUP_SECONDS", 600.0)
    kb = library.create("t")
    names = sorted(p.name for p in ZH.glob("*.txt"))[:20]
    folder = _copy(names, tmp_path / "docs")
    batches = Batches()
    report = ingest(kb, discover([folder]), settings, progress=batches)
    batch = settings.embedder.batch_size
    embedded = report.to_json()["embedded"]
    assert len(names) > 2 and embedded > 2 * batch
    assert all(size == batch for size in batches.sizes[:-1]) and 0 < batches.sizes[-1] <= batch
    assert sum(batches.sizes) == embedded == batches.total
    assert len(batches.sizes) == -(-embedded // batch), "as few embedding calls as can be"
    assert all(o.embedded > 0 for o in report.outcomes)
    assert kb.store.check_consistency() == []
    with sqlite3.connect(kb.directory / "catalog.sqlite") as catalog:
        stored = {row[0] for row in catalog.execute("SELECT text_hash FROM vectors")}
    assert embedded == len(stored)


def test_many_small_files_embed_every_text_once(
    library: Library, settings: Settings, tmp_path: Path
) -> None:
    kb = library.create("t")
    names = sorted(p.name for p in ZH.glob("*.txt"))[:24]
    folder = _copy(names, tmp_path / "docs")
    report = ingest(kb, discover([folder]), settings)
    assert (report.count("added"), report.count("failed")) == (24, 0)
    assert kb.store.check_consistency() == []
    with sqlite3.connect(kb.directory / "catalog.sqlite") as catalog:
        stored = {row[0] for row in catalog.execute("SELECT text_hash FROM vectors")}
    assert report.to_json()["embedded"] == len(stored), "no text embedded twice, none lost"
    question = (folder / names[-1]).read_text(encoding="utf-8")[:40]
    hits = retrieve([kb], question, settings.retrieval, top_k=1)
    assert hits[0].source == names[-1]
