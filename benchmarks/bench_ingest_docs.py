"""``chatkb add`` of every file of ``datasets/docs`` (38 formats, scans and OCR included).

    python benchmarks/bench_ingest_docs.py [--datasets DIR]

A fresh CHATKB_HOME gets a knowledge base with the default settings, then ``chatkb add``
runs on all the dataset files (the MANIFEST excepted) as a user would type it (a
subprocess). Prints the wall time, the CPU-seconds of ``chatkb`` and its worker processes,
the files added and failed, and the load average before and after. The default ONNX
embedder is built once, before timing, into a shared cache folder (a first run of chatkb
builds it too, once per machine). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import datasets_root, load_average


def _default_docs() -> Path:
    return datasets_root() / "docs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=None, help="the datasets/docs folder")
    args = parser.parse_args()
    docs = args.datasets or _default_docs()
    files = sorted(p for p in docs.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")
    chatkb = str(Path(sys.executable).with_name("chatkb"))
    with (
        tempfile.TemporaryDirectory(prefix="chatkb-docs-") as home,
        tempfile.TemporaryDirectory(prefix="chatkb-model-cache-") as cache,
    ):
        from chatkb.embedders.e5_build import ensure_build

        ensure_build(Path(cache))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
        env.update(CHATKB_HOME=home, CHATKB_EMBEDDER__CACHE_DIR=cache)
        subprocess.run([chatkb, "kb", "create", "docs"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        print(f"{len(files)} files of {docs}, CPU cores: {os.cpu_count()}, load: {load_average()}")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        add = subprocess.run([chatkb, "add", "docs", "--json", *map(str, files)], env=env,
                             capture_output=True, text=True)  # fmt: skip
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    _report(add)
    print(f"wall {wall:.1f} s ({wall / 60:.2f} min), CPU {cpu:.1f} s, load after: {load_average()}")


def _report(add: subprocess.CompletedProcess[str]) -> None:
    """The counts and each failed file, from ``chatkb add --json``."""
    try:
        summary = json.loads(add.stdout)
    except json.JSONDecodeError:
        print(f"exit status {add.returncode}; output: {(add.stdout + add.stderr)[-2000:]}")
        return
    counts = {k: summary[k] for k in ("added", "failed", "chunks", "embedded")}
    print(f"exit status {add.returncode}; {counts}")
    for outcome in summary["files"]:
        if outcome.get("status") == "failed":
            print(f"  failed {Path(outcome['source']).name}: {outcome.get('error')}")


if __name__ == "__main__":
    main()
