"""The ``chatkb`` command line, end to end, with the JSON shapes other parts rely on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from _datasets import datasets_dir
from conftest import Cli

ZH = datasets_dir() / "zh-dev" / "corpus"
HIT_KEYS = {"rank", "score", "text", "source", "doc_id", "chunk_id", "page", "start", "end"}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs" / "nested"
    folder.mkdir(parents=True)
    for name in ("TRIAL_109.txt", "TRIAL_110.txt", "TRIAL_106.txt"):
        shutil.copy(ZH / name, folder / name)
    return tmp_path / "docs"


def test_kb_lifecycle(cli: Cli) -> None:
    created = cli.json("kb", "create", "manuals", "-d", "Plant manuals", "--chunk-size", "400")
    assert created["chunk_size"] == 400 and created["embedder"] == "e5-small-onnx"
    assert created["dim"] == 384
    assert [kb["name"] for kb in cli.json("kb", "list")] == ["manuals"]
    info = cli.json("kb", "info", "manuals")
    assert info["description"] == "Plant manuals" and info["documents"] == 0
    result = cli("kb", "create", "manuals", code=1)
    assert "already exists" in result.output
    cli("kb", "delete", "manuals", "--yes")
    assert cli.json("kb", "list") == []


def test_add_search_ask_remove(cli: Cli, tmp_path: Path) -> None:
    cli("kb", "create", "zh")
    summary = cli.json("add", "zh", str(_folder(tmp_path)))
    assert (summary["added"], summary["failed"]) == (3, 0)
    assert {f["source"] for f in summary["files"]} == {
        "nested/TRIAL_109.txt",
        "nested/TRIAL_110.txt",
        "nested/TRIAL_106.txt",
    }
    assert cli.json("add", "zh", str(tmp_path / "docs"))["unchanged"] == 3

    hits = cli.json("search", "zh", "马飚毕业于哪所大学？", "--top-k", "2")
    assert len(hits) == 2 and set(hits[0]) >= HIT_KEYS
    assert hits[0]["source"] == "nested/TRIAL_109.txt"
    assert hits[0]["score"] >= hits[1]["score"]
    assert "中央民族学院" in hits[0]["text"]

    answer = cli.json("ask", "zh", "马飚毕业于哪所大学？")
    assert set(answer) >= {"answer", "citations", "model"}
    assert answer["model"] == "extractive" and answer["extractive"] is True
    assert "中央民族学院政治系毕业" in answer["answer"]
    first = answer["citations"][0]
    assert set(first) >= {"n", "source", "page", "text", "score"}
    assert f"[{first['n']}]" in answer["answer"]

    removed = cli.json("remove", "zh", "nested/TRIAL_109.txt")
    assert removed["removed"] == 1
    sources = {h["source"] for h in cli.json("search", "zh", "马飚", "--top-k", "5")}
    assert "nested/TRIAL_109.txt" not in sources


def test_search_queries_file(cli: Cli, tmp_path: Path) -> None:
    cli("kb", "create", "zh")
    cli("add", "zh", str(_folder(tmp_path)))
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"id": "a", "question": "马飚毕业于哪所大学？"}\n'
        '{"id": 7, "question": "日本何时开始制作直流近郊型电车？"}\n',
        encoding="utf-8",
    )
    result = cli("search", "zh", "--queries", str(queries), "--top-k", "1")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]
    assert lines[1]["hits"][0]["source"] == "nested/TRIAL_110.txt"


def test_partial_failure_exit_code_and_reasons(cli: Cli, tmp_path: Path) -> None:
    cli("kb", "create", "k")
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("The pump is serviced every March.", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "program.exe").write_bytes(b"MZ\x90\x00")
    summary = cli.json("add", "k", str(folder), code=3)
    assert summary["added"] == 1 and summary["failed"] == 2
    reasons = {f["source"]: f["error"] for f in summary["files"] if f["status"] == "failed"}
    assert "empty" in reasons["empty.txt"]
    assert "unsupported file type '.exe'" in reasons["program.exe"]


def test_ask_without_relevant_passages_says_so(cli: Cli, tmp_path: Path) -> None:
    cli("kb", "create", "k")
    doc = tmp_path / "pump.md"
    doc.write_text("# Pump\n\nThe pump is serviced every March by the plant crew.")
    cli("add", "k", str(doc))
    answer = cli.json("ask", "k", "Who won the 1998 football world cup final?")
    assert answer["found"] is False and answer["citations"] == []
    assert "Nothing relevant" in answer["answer"]


def test_errors_are_one_line_without_traceback(home: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-c", "from chatkb.cli.main import run; run()"]
    result = subprocess.run(
        [*command, "search", "missing", "anything"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "no knowledge base named 'missing'" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_has_help(cli: Cli) -> None:
    for command in (["kb", "create"], ["kb", "list"], ["add"], ["remove"], ["search"], ["ask"]):
        assert "Usage" in cli(*command, "--help").output


def test_failed_file_names_with_brackets_are_printed_as_they_are(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "[bold]notes[red].md").write_bytes(b"")
    cli("kb", "create", "k")
    result = cli("add", "k", str(folder), code=3)
    assert "[bold]notes[red].md: empty file" in result.stderr
