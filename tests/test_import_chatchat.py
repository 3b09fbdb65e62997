"""``chatkb import chatchat``: a Chatchat 0.2 and 0.3 root, built as Chatchat lays it out,
imported with real documents; a run again adds nothing; a bad file fails alone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _chatchat_root import KB, build_root
from _datasets import DOCS
from chatkb import ingest as ingest_flow
from chatkb.errors import InvalidInputError
from chatkb.importers.chatchat import ImportOptions, import_chatchat
from chatkb.importers.chatchat_root import chatkb_name
from chatkb.kb import Library
from conftest import Cli

IBM = DOCS / "en_wiki_ibm.md"
WAR = DOCS / "en_utf8_war_and_peace_1p.txt"
LLM_ZH = DOCS / "zh_llm_inference_optimization.md"
CSV = DOCS / "en_csv_comma.csv"
GBK = DOCS / "zh_gbk_cpython_cjkencodings.txt"


def _v02_project(tmp_path: Path) -> Path:
    """A 0.2.10 checkout: ``<project>/knowledge_base`` (KB_ROOT_PATH) with info.db."""
    project = tmp_path / "Langchain-Chatchat"
    build_root(
        project / "knowledge_base",
        [
            KB(
                "samples", "关于samples的知识库", {"en_wiki_ibm.md": IBM, "test_files/war.txt": WAR}
            ),
            KB(
                "技术 文档",
                "推理优化资料",
                {
                    "大模型推理优化策略.md": LLM_ZH,
                    "broken.pdf": b"%PDF-1.4 this is not a pdf at all",
                    "gone.docx": None,
                },
                unlisted={"notes.csv": CSV},
            ),
        ],
    )
    return project


def _by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {kb["chatchat_name"]: kb for kb in report["knowledge_bases"]}  # type: ignore[attr-defined, index]


def _statuses(kb: dict[str, object]) -> dict[str, str]:
    return {f["source"]: f["status"] for f in kb["files"]}  # type: ignore[attr-defined, index]


def test_import_v02_root_then_again(cli: Cli, tmp_path: Path) -> None:
    project = _v02_project(tmp_path)
    report = cli.json("import", "chatchat", str(project), code=3)
    assert (report["imported"], report["skipped"], report["failed"]) == (3, 1, 2)
    kbs = _by_name(report)
    assert kbs["samples"]["name"] == "samples" and kbs["samples"]["created"] is True
    assert _statuses(kbs["samples"]) == {
        "en_wiki_ibm.md": "imported",
        "test_files/war.txt": "imported",
    }
    tech = kbs["技术 文档"]
    assert tech["name"] == "技术_文档" and tech["description"] == "推理优化资料"
    assert _statuses(tech) == {
        "大模型推理优化策略.md": "imported",
        "broken.pdf": "failed",
        "gone.docx": "failed",
        "notes.csv": "skipped",
    }
    reasons = {f["source"]: f.get("reason", "") for f in tech["files"]}
    assert "missing from content/" in reasons["gone.docx"]
    assert "not in info.db" in reasons["notes.csv"]

    info = cli.json("kb", "info", "技术_文档")
    assert info["description"] == "推理优化资料"
    assert [d["source"] for d in info["document_list"]] == ["大模型推理优化策略.md"]
    hits = cli.json("search", "技术_文档", "PagedAttention 显存管理", "--top-k", "1")
    assert hits[0]["source"] == "大模型推理优化策略.md"
    assert cli.json("kb", "info", "samples")["description"] == "关于samples的知识库"

    again = cli.json("import", "chatchat", str(project / "knowledge_base"), code=3)
    assert (again["imported"], again["failed"]) == (0, 2)
    assert all(kb["created"] is False for kb in again["knowledge_bases"])
    assert _statuses(_by_name(again)["samples"]) == {
        "en_wiki_ibm.md": "skipped",
        "test_files/war.txt": "skipped",
    }
    assert [d["source"] for d in cli.json("kb", "info", "samples")["document_list"]] == [
        "en_wiki_ibm.md",
        "test_files/war.txt",
    ]
    everything = cli.json("import", "chatchat", str(project), "--all-files", code=3)
    assert _statuses(_by_name(everything)["技术 文档"])["notes.csv"] == "imported"


def test_import_v03_killed_then_resumed(
    cli: Cli, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.3 keeps the root at ``<CHATCHAT_ROOT>/data/knowledge_base``. A run stopped after its
    first file (as a kill between commits leaves it; here each file is a write group of its
    own), run again, finishes without duplicates."""
    monkeypatch.setattr(ingest_flow, "GROUP_FILES", 1)
    chatchat_root = tmp_path / "chatchat_data"
    files = {"wiki/en_wiki_ibm.md": IBM, "war.txt": WAR, "gbk.txt": GBK}
    build_root(chatchat_root / "data" / "knowledge_base", [KB("manuals", "Plant manuals", files)])

    def stop_after_first() -> bool:  # asked between files and embedding batches
        return "manuals" in library.names() and len(library.open("manuals").documents()) >= 1

    first = import_chatchat(library, chatchat_root, ImportOptions(), should_stop=stop_after_first)
    assert first.count("imported") == 1 and not first.failed
    assert len(library.open("manuals").documents()) == 1

    report = cli.json("import", "chatchat", str(chatchat_root))
    (kb,) = report["knowledge_bases"]
    assert (kb["imported"], kb["skipped"], kb["failed"], kb["created"]) == (2, 1, 0, False)
    info = cli.json("kb", "info", "manuals")
    assert sorted(d["source"] for d in info["document_list"]) == sorted(files)
    assert info["description"] == "Plant manuals"
    hits = cli.json("search", "manuals", "Anna Pavlovna", "--top-k", "1")
    assert hits[0]["source"] == "war.txt"


def test_import_killed_by_a_signal_then_run_again(cli: Cli, home: Path, tmp_path: Path) -> None:
    """``chatkb import chatchat`` in its own process, SIGKILLed once its first file is
    committed; the same command again finishes the rest, nothing twice."""
    files = {"a_ibm.md": IBM, "b_war.txt": WAR, "c_gbk.txt": GBK, "d.csv": CSV, "e_zh.md": LLM_ZH}
    root = build_root(tmp_path / "kb_root", [KB("big", "five files", files)])
    command = [sys.executable, "-c", "from chatkb.cli.main import run; run()"]
    process = subprocess.Popen(
        [*command, "import", "chatchat", str(root)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    catalog = home / "kb" / "big" / "catalog.sqlite"
    try:
        committed = _wait_for_documents(catalog, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert 1 <= committed < len(files), "the import finished before it could be killed"
    report = cli.json("import", "chatchat", str(root))
    (kb,) = report["knowledge_bases"]
    assert kb["created"] is False and kb["failed"] == 0
    assert kb["skipped"] >= committed and kb["imported"] + kb["skipped"] == len(files)
    documents = cli.json("kb", "info", "big")["document_list"]
    assert sorted(d["source"] for d in documents) == sorted(files)
    info = cli.json("kb", "info", "big")
    assert info["chunks"] == sum(d["chunk_count"] for d in documents)


def _wait_for_documents(catalog: Path, process: subprocess.Popen[bytes]) -> int:
    """Documents committed in the catalog, polled until there is one (read-only)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if catalog.exists():
            try:
                con = sqlite3.connect(f"{catalog.as_uri()}?mode=ro", uri=True)
                try:
                    (count,) = con.execute("SELECT count(*) FROM documents").fetchone()
                finally:
                    con.close()
            except sqlite3.Error:
                count = 0
            if count:
                return int(count)
        time.sleep(0.02)
    return 0


def test_hostile_row_and_corrupt_info_db(cli: Cli, tmp_path: Path) -> None:
    files: dict[str, Path | bytes | None] = {
        "../../outside.txt": None,
        "/etc/hostname": None,
        "ok.txt": WAR,
        "linked.md": None,
    }
    root = build_root(tmp_path / "kb_root", [KB("a", "", files)])
    (root / "a" / "content" / "linked.md").symlink_to(IBM)  # a link the user made is followed
    report = cli.json("import", "chatchat", str(root), code=3)
    assert _statuses(report["knowledge_bases"][0]) == {
        "../../outside.txt": "failed",
        "/etc/hostname": "failed",
        "ok.txt": "imported",
        "linked.md": "imported",
    }
    broken = tmp_path / "broken"
    (broken / "x" / "content").mkdir(parents=True)
    (broken / "info.db").write_bytes(b"not a database, just bytes" * 100)
    result = cli("import", "chatchat", str(broken), code=1)
    assert "cannot read" in result.output and "info.db" in result.output
    (tmp_path / "empty").mkdir()
    result = cli("import", "chatchat", str(tmp_path / "empty"), code=1)
    # Joined: the console wraps the message where the (temporary) path ends.
    assert "not a Chatchat knowledge-base root" in " ".join(result.output.split())


def test_name_mapping_collisions_and_renames(cli: Cli, tmp_path: Path) -> None:
    assert chatkb_name("samples") == "samples"
    assert chatkb_name("知识库") == "知识库"
    assert chatkb_name("my kb (v2)") == "my_kb_v2"
    assert chatkb_name(".hidden-kb") == "hidden-kb"
    with pytest.raises(InvalidInputError, match="--rename"):
        chatkb_name("+++")
    root = build_root(
        tmp_path / "kb_root",
        [KB("my kb", "one", {"a.txt": WAR}), KB("my+kb", "two", {"b.txt": GBK})],
    )
    only = cli.json("import", "chatchat", str(root), "--kb", "my kb")
    assert [kb["name"] for kb in only["knowledge_bases"]] == ["my_kb"]
    clash = cli.json("import", "chatchat", str(root), code=3)
    assert "both map to 'my_kb'" in _by_name(clash)["my+kb"]["error"]
    renamed = cli.json("import", "chatchat", str(root), "--rename", "my+kb=my_kb_2")
    assert {kb["name"] for kb in renamed["knowledge_bases"]} == {"my_kb", "my_kb_2"}
    assert cli.json("kb", "info", "my_kb_2")["description"] == "two"
