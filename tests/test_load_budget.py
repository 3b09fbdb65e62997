"""The per-file loading budget: each file loads in a worker process that is killed when the
file takes too long, asks for too much memory, crashes, or its job is cancelled; the file
fails alone with that reason and the next file loads in a fresh worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import _budget_loaders  # noqa: F401  (registers .slowtest, .hogtest, .crashtest)
from _datasets import doc
from chatkb.errors import LoadError
from chatkb.ingest import SourceFile, ingest
from chatkb.kb import Library
from chatkb.loaders import LoaderOptions, load_file
from chatkb.loaders.isolated import LoadBudget, LoadPool, LoadStopped
from chatkb.settings import load_settings

MIB = 1024 * 1024
GOOD = doc("en_wiki_ibm.md")


@pytest.fixture
def pool() -> Iterator[LoadPool]:
    workers = LoadPool()
    yield workers
    workers.close()


def _file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text("not read by the misbehaving loaders\n")
    return path


def test_a_file_loads_in_a_worker_as_it_does_in_process(pool: LoadPool) -> None:
    loaded = pool.load(GOOD, LoaderOptions(), LoadBudget())
    assert loaded == load_file(GOOD)


def test_a_file_past_the_time_limit_fails_and_the_next_one_loads(
    pool: LoadPool, tmp_path: Path
) -> None:
    with pytest.raises(LoadError, match="took longer than 1 s to load"):
        pool.load(_file(tmp_path, "stuck.slowtest"), LoaderOptions(), LoadBudget(seconds=1))
    assert pool.load(GOOD, LoaderOptions(), LoadBudget()).text == load_file(GOOD).text


def test_a_long_load_that_keeps_reporting_progress_is_not_cut_off(
    pool: LoadPool, tmp_path: Path
) -> None:
    """The limit is time without progress: twelve OCR'd pages of a quarter second each get
    through a two-second budget, which a stuck parser does not (above)."""
    scan = tmp_path / "scan.progresstest"
    scan.write_text("1")
    # First in a worker that has imported the test loader (an import on a busy machine may
    # itself take longer than the budget measured below).
    assert pool.load(scan, LoaderOptions(), LoadBudget(seconds=120)).text == "1 pages read"
    scan.write_text("12")
    loaded = pool.load(scan, LoaderOptions(), LoadBudget(seconds=2))
    assert loaded.text == "12 pages read"


def test_a_file_past_the_memory_limit_fails_with_that_reason(
    pool: LoadPool, tmp_path: Path
) -> None:
    budget = LoadBudget(memory_bytes=512 * MIB)
    with pytest.raises(LoadError, match="needed more than 512 MiB of memory"):
        pool.load(_file(tmp_path, "bomb.hogtest"), LoaderOptions(), budget)
    assert pool.load(GOOD, LoaderOptions(), budget).text == load_file(GOOD).text


def test_a_loader_crash_fails_the_file_only(pool: LoadPool, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"crashed on this file \(SIGABRT\)"):
        pool.load(_file(tmp_path, "boom.crashtest"), LoaderOptions(), LoadBudget())
    assert pool.load(GOOD, LoaderOptions(), LoadBudget()).text == load_file(GOOD).text


def test_a_stop_kills_the_file_in_progress(pool: LoadPool, tmp_path: Path) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    with pytest.raises(LoadStopped):
        pool.load(_file(tmp_path, "stuck.slowtest"), LoaderOptions(), LoadBudget(600), stop.is_set)
    assert not pool._busy and not pool._idle  # the stuck worker is gone, not parked


def test_load_errors_travel_back_as_themselves(pool: LoadPool, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="not a valid DOCX file"):
        pool.load(_file(tmp_path, "fake.docx"), LoaderOptions(), LoadBudget())


def test_ingest_fails_the_stuck_file_alone(tmp_path: Path) -> None:
    settings = load_settings(
        home=tmp_path / "home", embedder={"threads": 1}, loading={"timeout": 1}
    )
    kb = Library(settings).create("budget")
    files = [SourceFile(GOOD, GOOD.name), SourceFile(_file(tmp_path, "x.slowtest"), "x.slowtest")]
    report = ingest(kb, files, settings)
    by_source = {o.source: o for o in report.outcomes}
    assert by_source[GOOD.name].status == "added"
    failed = by_source["x.slowtest"]
    assert failed.status == "failed" and "took longer than 1 s" in (failed.error or "")


def test_a_cancel_stops_the_stuck_file_and_ends_the_job(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", embedder={"threads": 1})
    kb = Library(settings).create("budget")
    stop = threading.Event()
    started = time.monotonic()
    threading.Timer(0.5, stop.set).start()
    files = [SourceFile(_file(tmp_path, "x.slowtest"), "x.slowtest"), SourceFile(GOOD, "g.md")]
    report = ingest(kb, files, settings, should_stop=stop.is_set)
    assert report.outcomes == []  # stopped inside the first file: nothing written
    assert time.monotonic() - started < settings.loading.timeout  # not waited out


def test_an_idle_worker_that_died_is_replaced(pool: LoadPool) -> None:
    pool.load(GOOD, LoaderOptions(), LoadBudget())
    (idle,) = pool._idle
    idle.process.kill()  # e.g. the kernel's OOM killer, between two files
    idle.process.wait()
    assert pool.load(GOOD, LoaderOptions(), LoadBudget()).text == load_file(GOOD).text
