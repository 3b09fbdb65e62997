"""Ingest progress on stderr: a bar on a terminal, lines in a log, nothing asked for with 0."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from _datasets import datasets_dir
from chatkb.cli._progress import BarProgress, LogProgress, Tally, ingest_progress
from chatkb.ingest import FileOutcome
from chatkb.ingest import Progress as IngestProgress

ZH = datasets_dir() / "zh-dev" / "corpus"
LINE = re.compile(
    r"^\d+:\d\d:\d\d (\d+)/(\d+) files(?: \(\d+ failed\))?, [\d,]+ chunks \([\d.]+/s\), "
    r"[\d,]+ texts embedded(?:; reading .+?)?(?:; ETA \d+:\d\d:\d\d)?$"
)


def test_a_terminal_gets_the_bar_a_log_gets_lines_and_zero_gets_neither() -> None:
    primary, secondary = os.openpty()
    with open(secondary, "w") as terminal:
        assert isinstance(ingest_progress(10, terminal), BarProgress)
    os.close(primary)
    assert isinstance(ingest_progress(10, io.StringIO()), LogProgress)
    quiet = ingest_progress(0, io.StringIO())
    assert type(quiet) is IngestProgress


def test_the_line_counts_files_failures_chunks_and_the_eta_at_the_files_rate() -> None:
    tally = Tally(total_files=40, files_done=10, failed=2, chunks=850, embedded=1700)
    tally.current = "reports/2024/annual.pdf"
    line = tally.line(elapsed=125.0)
    assert line == (
        "0:02:05 10/40 files (2 failed), 850 chunks (6.8/s), 1,700 texts embedded; "
        "reading reports/2024/annual.pdf; ETA 0:06:15"
    )
    assert LINE.match(line)
    assert Tally(total_files=3).line(0.0) == "0:00:00 0/3 files, 0 chunks (0.0/s), 0 texts embedded"
    done = Tally(total_files=3, files_done=3, chunks=5, current="c.txt").line(3700.0)
    assert done == "1:01:40 3/3 files, 5 chunks (0.0/s), 0 texts embedded"  # no ETA, no file


def test_a_failure_is_written_when_it_happens_and_finish_stops_the_lines() -> None:
    stream = io.StringIO()
    progress = LogProgress(3600.0, stream)  # no periodic line within the test
    progress.start(2)
    progress.file_started("a.txt")
    progress.file_done(FileOutcome("a.txt", "failed", error="not UTF-8 text"))
    progress.file_started("b.txt")
    progress.file_done(FileOutcome("b.txt", "added", chunks=4, embedded=7))
    progress.finish()
    assert stream.getvalue() == "failed a.txt: not UTF-8 text\n"
    assert progress.line().split(" ", 1)[1].startswith("2/2 files (1 failed), 4 chunks")


def test_chatkb_add_into_a_log_writes_progress_lines_then_the_summary(
    home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    names = sorted(p.name for p in ZH.iterdir())[:12]
    for name in names:
        shutil.copy(ZH / name, folder / name)
    env = {**os.environ, "CHATKB_HOME": str(home)}

    def chatkb(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", "from chatkb.cli.main import run; run()", *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done

    chatkb("kb", "create", "t")

    lines = chatkb("add", "t", str(folder), "--progress-every", "0.05").stderr.splitlines()
    assert lines[-1].startswith("12 added, 0 updated, 0 unchanged, 0 removed, 0 failed;")
    progress = [LINE.match(line) for line in lines[:-1]]
    assert progress and all(progress), lines  # loading the model alone takes longer than 0.05 s
    counts = [(int(m.group(1)), int(m.group(2))) for m in progress if m]
    assert {total for _, total in counts} == {12}
    assert [d for d, _ in counts] == sorted(d for d, _ in counts)  # files done only grow

    quiet = chatkb("add", "t", str(folder), "--progress-every", "0").stderr.splitlines()
    assert len(quiet) == 1, quiet  # the summary alone
    assert quiet[0].startswith("0 added, 0 updated, 12 unchanged, 0 removed, 0 failed; ")
