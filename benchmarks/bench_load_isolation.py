"""What loading in a worker process costs: worker start-up, and per-file overhead on small files.

    python benchmarks/bench_load_isolation.py [--repeat 5] [--datasets DIR]

Loads the small text-like dataset files (txt, md, csv, json, html) in this process and then
through the worker pool (``loading.isolated``, the default), one file at a time, and prints
the median milliseconds per file of each, their difference (the round trip: request, pickled
document back), and what the first worker's start took. Wall and CPU seconds are both shown
because the machine this runs on may be busy; ``uptime`` is printed for the same reason.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

from chatkb.loaders import LoaderOptions, load_file
from chatkb.loaders.isolated import LoadBudget, LoadPool

SMALL = (".txt", ".md", ".csv", ".json", ".jsonl", ".html", ".tsv")


def _median_ms(files: list[Path], load: object, repeat: int) -> float:
    per_file = []
    for _ in range(repeat):
        for path in files:
            started = time.perf_counter()
            load(path)  # type: ignore[operator]
            per_file.append((time.perf_counter() - started) * 1000)
    return statistics.median(per_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    here = Path(__file__).resolve().parent
    parser.add_argument("--datasets", type=Path, default=here.parent / ".." / "shared" / "datasets")
    args = parser.parse_args()
    files = sorted(p for p in (args.datasets / "docs").iterdir() if p.suffix in SMALL)
    options, budget = LoaderOptions(), LoadBudget()
    pool = LoadPool()
    try:
        cpu, started = time.process_time(), time.perf_counter()
        pool.load(files[0], options, budget)  # starts the first worker
        start_s = time.perf_counter() - started
        inline = _median_ms(files, lambda p: load_file(p, options), args.repeat)
        isolated = _median_ms(files, lambda p: pool.load(p, options, budget), args.repeat)
        cpu = time.process_time() - cpu
    finally:
        pool.close()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    kinds = ", ".join(SMALL)
    print(f"files: {len(files)} small ({kinds}), {args.repeat} rounds, cpus={os.cpu_count()}")
    print(f"worker start (first file included): {start_s * 1000:.0f} ms")
    print(f"median per file in process: {inline:.2f} ms")
    print(f"median per file in a worker: {isolated:.2f} ms")
    print(f"overhead per file: {isolated - inline:.2f} ms (this process's CPU: {cpu:.2f} s in all)")


if __name__ == "__main__":
    main()
