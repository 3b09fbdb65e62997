"""Load test of ``chatkb serve`` on loopback: concurrent clients searching and chatting.

Builds a small knowledge base in a temporary CHATKB_HOME, starts the real server as a
subprocess, then runs N clients for S seconds, each alternating ``POST /api/search`` and
``POST /api/chat`` (extractive answerer, non-streaming). Prints requests/s, latency
percentiles and errors per kind. Figures, not assertions.

    python benchmarks/bench_server.py --clients 20 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

DATASETS = Path(
    os.environ.get("CHATKB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets")
)
DOCS = [
    "docs/en_wiki_ibm.md",
    "docs/en_utf8_war_and_peace_1p.txt",
    "docs/zh_llm_inference_optimization.md",
]
QUESTIONS = [
    "In which year was IBM founded?",
    "Where is IBM headquartered?",
    "What did Anna Pavlovna say about Genoa and Lucca?",
    "大模型推理优化有哪些方法？",
    "What is KV cache?",
]


def chatkb(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(Path(sys.executable).with_name("chatkb")), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def client_loop(
    base: str, deadline: float, results: dict[str, list[float]], errors: dict[str, int], n: int
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        i = n
        while time.monotonic() < deadline:
            question = QUESTIONS[i % len(QUESTIONS)]
            kind = "search" if i % 2 == 0 else "chat"
            body = (
                {"query": question, "kbs": ["bench"]}
                if kind == "search"
                else {"question": question, "kbs": ["bench"], "stream": False}
            )
            started = time.monotonic()
            try:
                response = await client.post(f"/api/{kind}", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                results[kind].append(time.monotonic() - started)
            else:
                errors[kind] += 1
            i += 1


def report(results: dict[str, list[float]], errors: dict[str, int], seconds: float) -> None:
    head = ("requests", "req/s", "p50 ms", "p95 ms", "p99 ms")
    print(f"{'kind':<8}" + "".join(f"{h:>10}" for h in head) + f"{'errors':>8}")
    everything = [x for values in results.values() for x in values]
    for kind, values in (*results.items(), ("all", everything)):
        errs = sum(errors.values()) if kind == "all" else errors[kind]
        if not values:
            print(f"{kind:<8}{0:>10}{0:>10}{'-':>10}{'-':>10}{'-':>10}{errs:>8}")
            continue
        q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
        print(f"{kind:<8}{len(values):>10}{len(values) / seconds:>10.1f}{q[49] * 1000:>10.0f}"
              f"{q[94] * 1000:>10.0f}{q[98] * 1000:>10.0f}{errs:>8}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
        env.update(CHATKB_HOME=home, CHATKB_LLM__BACKEND="extractive")
        chatkb("kb", "create", "bench", env=env)
        chatkb("add", "bench", *[str(DATASETS / d) for d in DOCS], env=env)
        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("chatkb")), "serve", "--port", str(port)], env=env
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/api/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            httpx.post(
                base + "/api/search", json={"query": "warm up", "kbs": ["bench"]}, timeout=120
            )
            results: dict[str, list[float]] = {"search": [], "chat": []}
            errors = {"search": 0, "chat": 0}
            deadline = time.monotonic() + args.seconds
            started = time.monotonic()

            async def run() -> None:
                await asyncio.gather(
                    *(client_loop(base, deadline, results, errors, n) for n in range(args.clients))
                )

            asyncio.run(run())
            elapsed = time.monotonic() - started
            print(f"{args.clients} clients, {elapsed:.1f} s, CPU cores: {os.cpu_count()}")
            report(results, errors, elapsed)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
