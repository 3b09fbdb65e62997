"""Schemathesis against a real ``chatkb serve`` on loopback: at least ``--requests`` generated
requests across every operation of the OpenAPI spec, and the count of server errors (5xx).

    python benchmarks/fuzz_api.py [--requests 5000] [--seed 15]

Starts ``chatkb serve`` on a free 127.0.0.1 port with a fresh ``CHATKB_HOME`` (one
knowledge base "kb" with one document, keys off), then runs rounds over the operations,
each round a few Hypothesis examples per operation with a new seed, until the request count
is reached. 501 (a Chatchat feature chatkb does not have) is by design; any other 5xx, or
a request the server drops, is a failure. Prints ``uptime``, the requests per status class,
and each failure; exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed

EXAMPLES_PER_ROUND = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.failures: list[str] = []

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def _round(operation: Any, base_url: str, seed: int, tally: Tally) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_ROUND,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        try:
            response = case.call(base_url=base_url, timeout=120)
        except Exception as exc:  # a dropped connection is a failure too
            tally.statuses["no answer"] += 1
            tally.failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
            return
        code = response.status_code
        tally.statuses["501" if code == 501 else f"{code // 100}xx"] += 1
        if response.status_code >= 500 and response.status_code != 501:
            body = response.text[:200].replace("\n", " ")
            tally.failures.append(f"{operation.label} -> {response.status_code}: {body}")

    hypothesis_seed(seed)(check)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    here = Path(__file__).resolve().parent
    document = here.parent / ".." / "shared" / "datasets" / "docs" / "en_wiki_ibm.md"
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
        env.update(CHATKB_HOME=str(Path(tmp) / "home"), CHATKB_EMBEDDER__THREADS="1")
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        chatkb = str(Path(sys.executable).with_name("chatkb"))
        server = subprocess.Popen(
            [chatkb, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _prepare(base_url, server, document)
            tally = _fuzz(base_url, args.requests, args.seed)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    print(f"requests: {tally.requests}; by status: {dict(sorted(tally.statuses.items()))}")
    print(f"server errors (5xx other than 501) or dropped requests: {len(tally.failures)}")
    for failure in tally.failures[:50]:
        print("  " + failure)
    sys.exit(1 if tally.failures else 0)


def _prepare(base_url: str, server: subprocess.Popen[bytes], document: Path) -> None:
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=base_url, timeout=120) as client:
        while True:
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        client.post("/api/kbs", json={"name": "kb"})
        files = [("files", (document.name, document.read_bytes()))]
        job = client.post("/api/kbs/kb/documents", files=files).json()["job"]
        while client.get(f"/api/jobs/{job['id']}").json()["status"] in ("queued", "running"):
            time.sleep(0.2)


def _fuzz(base_url: str, target: int, seed: int) -> Tally:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally()
    started, rounds = time.perf_counter(), 0
    while tally.requests < target:
        for operation in operations:
            _round(operation, base_url, seed + rounds, tally)
        rounds += 1
        print(f"round {rounds}: {tally.requests} requests, {time.perf_counter() - started:.0f} s")
    print(f"operations: {len(operations)}, rounds: {rounds}")
    return tally


if __name__ == "__main__":
    main()
