"""HTTP probes for scripts/image_smoke.sh, run inside the chatkb container (standard library only).

    python image_smoke_api.py STEP     (KEY in the environment; the server on 127.0.0.1:7861)

Steps: ``api`` (docs, auth, search, chat), ``seed`` (a conversation to carry across an upgrade;
prints its id), ``upgraded ID`` (the knowledge base and conversation ``ID`` still answer),
``ingest-start`` (uploads a large document and waits until its job runs; prints the job id),
``ingest-after JOB`` (after a restart: what became of the job and its document, then the
document is indexed and found). Each step exits 1 with the reason when a check fails.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

BASE = "http://127.0.0.1:7861"
QUESTION = "How many vacation days do new employees get?"
BIG = "ingest_probe.txt"


def call(path: str, data: Any = None, key: str | None = "", raw: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, bytes]:
    headers = {"Content-Type": content_type}
    key = os.environ["KEY"] if key == "" else key
    if key:
        headers["Authorization"] = "Bearer " + key
    body = raw if raw is not None else json.dumps(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(BASE + path, body, headers),
                                    timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def ok(path: str, data: Any = None) -> Any:
    status, body = call(path, data)
    expect(status in (200, 201, 202), f"{path}: HTTP {status} {body[:300]!r}")
    return json.loads(body) if body else None


def expect(condition: bool, message: str) -> None:
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


def chat(conversation: str | None = None) -> Any:
    payload: dict[str, Any] = {"question": QUESTION, "kbs": ["demo"], "stream": False}
    if conversation:
        payload["conversation_id"] = conversation
    answer = ok("/api/chat", payload)
    expect("25 days" in answer["answer"], f"chat answer: {answer['answer'][:300]}")
    return answer


def step_api() -> None:
    status, body = call("/docs")
    expect(status == 200 and b"swagger" in body.lower(), f"/docs: HTTP {status}")
    expect(call("/")[0] == 200, "/ (web UI)")
    expect(call("/api/kbs", key=None)[0] == 401, "/api/kbs without a key must be 401")
    kbs = ok("/api/kbs")["data"]
    expect([kb["name"] for kb in kbs] == ["demo"], f"kbs: {kbs}")
    hits = ok("/api/search", {"query": "vacation days", "kbs": ["demo"], "top_k": 2})["data"]
    expect(hits and hits[0]["source"] == "employee_handbook.md", f"search: {hits}")
    chat()
    print("api ok")


def step_seed() -> None:
    print(chat()["conversation_id"])


def step_upgraded(conversation: str) -> None:
    kbs = [kb["name"] for kb in ok("/api/kbs")["data"]]
    expect("demo" in kbs, f"kbs after the upgrade: {kbs}")
    listed = [c["id"] for c in ok("/api/conversations")["data"]]
    expect(conversation in listed, f"conversation {conversation} not in {listed}")
    detail = ok(f"/api/conversations/{conversation}")
    expect(any(QUESTION in m["content"] for m in detail["messages"]), "the old question")
    answer = chat(conversation)  # the new image writes into the old volume
    expect(answer["conversation_id"] == conversation, "the follow-up joins the conversation")
    messages = ok(f"/api/conversations/{conversation}")["messages"]
    expect(len(messages) == len(detail["messages"]) + 2, f"{len(messages)} messages")
    print(f"upgrade ok: conversation {conversation} has {len(messages)} messages")


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "chatkb-smoke-boundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"'
            "\r\nContent-Type: text/plain\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), boundary


def step_ingest_start() -> None:
    # Distinct sentences, so that chunking and embedding take a while (some seconds).
    lines = [f"Section {i}: the probe-{i} widget ships from warehouse {i % 97} on day {i % 31}."
             for i in range(800)]
    lines.append("The zebra-quartz protocol is the final marker of the ingest probe.")
    body, boundary = _multipart(BIG, "\n\n".join(lines).encode())
    status, raw = call("/api/kbs/demo/documents", raw=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    expect(status == 202, f"upload: HTTP {status} {raw[:300]!r}")
    job = json.loads(raw)["job"]["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = ok(f"/api/jobs/{job}")
        if state["status"] == "running" and state["embedded"] > 0:
            print(job)
            return
        expect(state["status"] in ("queued", "running"), f"job ended before the restart: {state}")
        time.sleep(0.2)
    expect(False, "the job never started embedding")


def step_ingest_after(job: str) -> None:
    status, raw = call(f"/api/jobs/{job}")
    jobs = ok("/api/jobs")["data"]
    docs = {d["source"]: d for d in ok("/api/kbs/demo/documents")["data"]}
    doc = docs.get(BIG)
    expect(doc is not None, f"the uploaded original is gone: {sorted(docs)}")
    print(f"after the restart: GET /api/jobs/{job} -> HTTP {status}; {len(jobs)} job(s) listed; "
          f"document {BIG} is {doc['status']!r}")
    # Accepted jobs are journaled on the volume: the restart resumes this one, same id.
    expect(status == 200, f"the job was lost in the restart: HTTP {status} {raw[:200]!r}")
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        docs = {d["source"]: d for d in ok("/api/kbs/demo/documents")["data"]}
        if docs[BIG]["status"] == "indexed":
            break
        expect(docs[BIG]["status"] in ("pending", "not_indexed"), f"document: {docs[BIG]}")
        time.sleep(1)
    expect(docs[BIG]["status"] == "indexed", f"not indexed in time: {docs[BIG]}")
    hits = ok("/api/search", {"query": "zebra-quartz protocol", "kbs": ["demo"], "top_k": 3})
    expect(any(h["source"] == BIG for h in hits["data"]), f"search: {hits['data']}")
    chat()
    print("ingest after restart ok")


def main() -> None:
    step, *args = sys.argv[1:]
    steps = {"api": step_api, "seed": step_seed, "upgraded": step_upgraded,
             "ingest-start": step_ingest_start, "ingest-after": step_ingest_after}
    steps[step](*args)


if __name__ == "__main__":
    main()
