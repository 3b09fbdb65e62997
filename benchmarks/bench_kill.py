"""SIGKILLs of ``chatkb add`` at random moments: is every knowledge base left consistent?

    python benchmarks/bench_kill.py [--kills 20] [--files 8] [--max-delay 20] [--seed 15]

Copies ``--files`` real documents from ``../shared/datasets/docs`` (text formats and
text PDFs, no OCR, so a run is minutes, not hours) into a temporary folder, then kills
``chatkb add`` with SIGKILL ``--kills`` times, each at a random moment between 0.2 s and
``--max-delay`` s after its start (start-up, loading, embedding or writing). After each kill
it changes two text files (so the next run has documents to replace), checks the
knowledge base (``store.check_consistency``), counts documents that appear
twice, and looks for loading workers the killed process left behind. A last ``chatkb add``
runs to the end; every file must then be indexed exactly once. Prints ``uptime`` and the
figures; one embedding thread (the machine is shared, so wall times are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SUFFIXES = (".md", ".txt", ".html", ".csv", ".json", ".jsonl", ".docx", ".xlsx", ".epub")
TEXT_PDFS = ("en_text_amt_handbook_sample.pdf", "zh_text_pumpkin_book_excerpt.pdf")


def _documents(count: int, datasets: Path) -> list[Path]:
    docs = datasets / "docs"
    picked = sorted(p for p in docs.iterdir() if p.suffix in SUFFIXES)[: count - len(TEXT_PDFS)]
    picked += [docs / name for name in TEXT_PDFS]
    return picked


def _revise(folder: Path, rng: random.Random, kill: int) -> None:
    """Change a few text files, so that every run has updates (atomic replaces) to make."""
    editable = sorted(p for p in folder.iterdir() if p.suffix in (".md", ".txt", ".html"))
    for path in rng.sample(editable, min(2, len(editable))):
        path.write_bytes(f"Revision {kill}.\n\n".encode() + path.read_bytes())


def _orphans(parent: int) -> list[int]:
    """Loading workers started by ``parent`` (their first argument) that are still alive."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"chatkb.loaders._worker" in argv and str(parent).encode() in argv:
            found.append(int(entry.name))
    return found


def _state(home: Path) -> tuple[list[str], list[str], int]:
    """(consistency problems, duplicated sources, documents) of the knowledge base."""
    from chatkb.kb import Library
    from chatkb.settings import load_settings

    library = Library(load_settings(home=home))
    try:
        kb = library.open("k")
        problems = kb.store.check_consistency()
        sources = Counter(d.source for d in kb.documents())
        return problems, [s for s, n in sources.items() if n > 1], sum(sources.values())
    finally:
        library.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--max-delay", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=15)
    here = Path(__file__).resolve().parent
    parser.add_argument("--datasets", type=Path, default=here.parent / ".." / "shared" / "datasets")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    chatkb = str(Path(sys.executable).with_name("chatkb"))
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "docs"
        folder.mkdir()
        for path in _documents(args.files, args.datasets):
            shutil.copy(path, folder / path.name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
        env.update(CHATKB_HOME=str(root / "home"), CHATKB_EMBEDDER__THREADS="1")
        subprocess.run([chatkb, "kb", "create", "k"], env=env, check=True, capture_output=True)
        inconsistent = duplicated = orphaned = loading = vanished = most = 0
        started = time.perf_counter()
        for kill in range(1, args.kills + 1):
            delay = rng.uniform(0.2, args.max_delay)
            add = subprocess.Popen(
                [chatkb, "add", "k", str(folder), "--json"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay)
            finished = add.poll() is not None
            loading += bool(_orphans(add.pid))  # a worker was up: the kill may land mid-file
            add.send_signal(signal.SIGKILL)
            add.wait()
            time.sleep(0.3)  # the kernel delivers the workers' death signal
            left = _orphans(add.pid)
            problems, twice, count = _state(root / "home")
            inconsistent += bool(problems)
            duplicated += len(twice)
            orphaned += len(left)
            note = " (had finished)" if finished else ""
            print(
                f"kill {kill:2d} after {delay:4.1f} s{note}: {count} documents, "
                f"{len(problems)} problems, {len(twice)} duplicated, {len(left)} workers left"
            )
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            vanished += count < most  # an indexed document must never go away
            most = max(most, count)
            _revise(folder, rng, kill)
        final = subprocess.run(
            [chatkb, "add", "k", str(folder), "--json"], env=env, capture_output=True, text=True
        )
        report = json.loads(final.stdout)
        problems, twice, count = _state(root / "home")
        expected = len(list(folder.iterdir()))
        lost = expected - count
        print(
            f"final add: exit {final.returncode}, added {report['added']}, unchanged "
            f"{report['unchanged']}, updated {report['updated']}, failed {report['failed']}"
        )
        print(
            f"files: {expected}, kills: {args.kills}, wall: {time.perf_counter() - started:.0f} s"
        )
        print(f"inconsistent knowledge bases after a kill: {inconsistent} of {args.kills}")
        print(
            f"after the final add: {len(problems)} problems, {lost} lost, {len(twice)} duplicated"
        )
        print(f"duplicated documents seen after kills: {duplicated}; workers left: {orphaned}")
        print(f"kills while a loading worker was up: {loading}")
        print(f"kills after which an indexed document had vanished: {vanished}")


if __name__ == "__main__":
    main()
