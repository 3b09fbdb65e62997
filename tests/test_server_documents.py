"""Documents, ingestion jobs and chunks through httpx against the ASGI app (real documents)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _datasets import datasets_dir, doc
from _server import EN_DOC, EN_TXT, PDF_DOC, ZH_DOC, isolated_settings, sse_events, upload, wait_job
from chatkb.server import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with isolated_settings(tmp_path / "home") as settings, TestClient(create_app(settings)) as c:
        c.post("/api/kbs", json={"name": "docs"})
        yield c


def test_upload_many_then_list_with_status_and_chunks(client: TestClient) -> None:
    body = upload(client, "docs", [doc(EN_DOC), doc(ZH_DOC), doc(EN_TXT)])
    assert body["sources"] == [EN_DOC, ZH_DOC, EN_TXT]
    job = body["job"]
    assert job["status"] == "done" and job["counts"] == {"added": 3}
    listed = client.get("/api/kbs/docs/documents").json()
    assert listed["count"] == 3
    for document in listed["data"]:
        assert document["status"] == "indexed" and document["chunk_count"] > 0
        assert document["has_original"]
    kb = client.get("/api/kbs/docs").json()
    assert kb["documents"] == 3 and kb["chunks"] == sum(d["chunk_count"] for d in listed["data"])


def test_file_names_are_sanitised_and_unicode_is_kept(client: TestClient, tmp_path: Path) -> None:
    text = doc(ZH_DOC).read_bytes()
    files = [
        ("files", ("../../escape.txt", b"Escaping files stay inside the knowledge base.")),
        ("files", ("/etc/passwd", b"Absolute names lose their leading slash here.")),
        ("files", ("政策/请假 规定.txt", text)),
        ("files", (".hidden", b"Hidden names become visible, harmless files.")),
    ]
    body = client.post("/api/kbs/docs/documents", files=files).json()
    assert body["sources"] == ["escape.txt", "etc/passwd", "政策/请假 规定.txt", "_hidden"]
    wait_job(client, body["job"]["id"])
    home = tmp_path / "home"
    assert not (home / "escape.txt").exists() and not (home / "kb" / "escape.txt").exists()
    stored = home / "kb" / "docs" / "files"
    assert (stored / "政策" / "请假 规定.txt").read_bytes() == text
    original = client.get("/api/kbs/docs/documents/政策/请假 规定.txt/file")
    assert original.status_code == 200 and original.content == text


def test_job_progress_streams_as_sse_and_polls(client: TestClient) -> None:
    body = upload(client, "docs", [doc(EN_DOC), doc(EN_TXT)], wait=False)
    job_id = body["job"]["id"]
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream.read().decode())
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) <= {"progress"}
    assert '"status": "done"' in events[-1][1]
    polled = client.get(f"/api/jobs/{job_id}").json()
    assert polled["files_done"] == 2 and polled["status"] == "done"
    assert any(j["id"] == job_id for j in client.get("/api/jobs?kb=docs").json()["data"])


def test_a_queued_job_can_be_cancelled(client: TestClient) -> None:
    first = upload(client, "docs", [doc(EN_DOC)], wait=False)["job"]
    second = upload(client, "docs", [doc(EN_TXT)], wait=False)["job"]
    cancelled = client.post(f"/api/jobs/{second['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert wait_job(client, first["id"])["status"] == "done"
    assert wait_job(client, second["id"])["files_done"] == 0
    sources = [d["source"] for d in client.get("/api/kbs/docs/documents").json()["data"]]
    assert EN_TXT in sources  # the original is kept, …
    statuses = {
        d["source"]: d["status"] for d in client.get("/api/kbs/docs/documents").json()["data"]
    }
    assert statuses[EN_TXT] == "not_indexed"  # … but not indexed


def test_a_running_job_is_cancelled_within_its_file(tmp_path: Path) -> None:
    """The cancel lands between two embedding batches of one large file: the file is not
    written, and its finished batches are reused when it is indexed again."""
    sentences = [
        f"Record {i}: the pump at station {i} was serviced by crew {i % 7}." for i in range(3000)
    ]
    with (
        isolated_settings(tmp_path / "home", embedder={"batch_size": 2}) as settings,
        TestClient(create_app(settings)) as c,
    ):
        c.post("/api/kbs", json={"name": "docs"})
        files = [("files", ("log.txt", "\n".join(sentences).encode()))]
        job = c.post("/api/kbs/docs/documents", files=files).json()["job"]
        deadline = time.monotonic() + 300
        while (seen := c.get(f"/api/jobs/{job['id']}").json())["embedded"] < 4:
            assert time.monotonic() < deadline and seen["status"] in ("queued", "running"), seen
            time.sleep(0.05)
        c.post(f"/api/jobs/{job['id']}/cancel")
        stopped = wait_job(c, job["id"])
        assert stopped["status"] == "cancelled" and stopped["files"] == []  # not written
        listed = c.get("/api/kbs/docs/documents").json()["data"]
        assert [(d["source"], d["status"]) for d in listed] == [("log.txt", "not_indexed")]
        again = wait_job(c, c.post("/api/kbs/docs/documents/log.txt/reindex").json()["id"])
        assert again["status"] == "done" and again["counts"] == {"added": 1}
        assert again["files"][0]["embedded"] < stopped["embed_total"]  # cached batches reused


def test_pdf_preview_is_inline_download_is_attachment(client: TestClient) -> None:
    pdf = doc(PDF_DOC)
    response = client.post(
        "/api/kbs/docs/documents",
        files=[("files", (pdf.name, pdf.read_bytes()))],
        data={"index": "false"},
    )
    assert response.json()["job"] is None
    preview = client.get(f"/api/kbs/docs/documents/{PDF_DOC}/file")
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.headers["content-disposition"].startswith("inline")
    assert preview.content == pdf.read_bytes()
    download = client.get(f"/api/kbs/docs/documents/{PDF_DOC}/file?download=true")
    assert download.headers["content-disposition"].startswith("attachment")
    assert client.get(f"/api/kbs/docs/documents/{PDF_DOC}").json()["status"] == "not_indexed"


def test_a_failed_file_is_listed_with_its_reason(client: TestClient) -> None:
    files = [("files", ("broken.pdf", b"%PDF-1.7 this is not really a PDF"))]
    job = client.post("/api/kbs/docs/documents", files=files).json()["job"]
    assert wait_job(client, job["id"])["counts"] == {"failed": 1}
    document = client.get("/api/kbs/docs/documents/broken.pdf").json()
    assert document["status"] == "failed" and document["error"]


def test_delete_and_reindex(client: TestClient) -> None:
    upload(client, "docs", [doc(EN_DOC), doc(ZH_DOC)])
    job = client.post(f"/api/kbs/docs/documents/{EN_DOC}/reindex").json()
    assert job["kind"] == "reindex"
    done = wait_job(client, job["id"])
    assert done["counts"] == {"updated": 1} and done["files"][0]["embedded"] == 0  # vectors reused
    removed = client.delete(f"/api/kbs/docs/documents/{ZH_DOC}").json()
    assert removed == {"source": ZH_DOC, "removed_from_index": True, "removed_file": True}
    assert client.delete(f"/api/kbs/docs/documents/{ZH_DOC}").status_code == 404
    assert [d["source"] for d in client.get("/api/kbs/docs/documents").json()["data"]] == [EN_DOC]


def test_a_reindex_that_fails_keeps_the_document_indexed(
    client: TestClient, tmp_path: Path
) -> None:
    upload(client, "docs", [doc(EN_DOC)])
    before = client.get(f"/api/kbs/docs/documents/{EN_DOC}").json()
    # The original is damaged on disk; loading it again fails.
    (tmp_path / "home" / "kb" / "docs" / "files" / EN_DOC).write_bytes(bytes(range(256)) * 16)
    job = client.post(f"/api/kbs/docs/documents/{EN_DOC}/reindex").json()
    done = wait_job(client, job["id"])
    assert done["counts"] == {"failed": 1} and "binary" in done["files"][0]["error"]
    after = client.get(f"/api/kbs/docs/documents/{EN_DOC}").json()
    assert after["chunk_count"] == before["chunk_count"] > 0  # the old version still answers
    hits = client.post("/api/search", json={"query": "IBM founded", "kbs": ["docs"]}).json()
    assert hits["data"][0]["source"] == EN_DOC


def test_aliases_name_the_one_document(client: TestClient) -> None:
    upload(client, "docs", [doc(EN_DOC), doc(EN_TXT)])
    for alias in (f"./{EN_DOC}", f"{EN_DOC}/", f".//{EN_DOC}"):
        assert client.get(f"/api/kbs/docs/documents/{alias}").json()["source"] == EN_DOC
    job = client.post(f"/api/kbs/docs/documents/./{EN_DOC}/reindex").json()
    assert [f["source"] for f in wait_job(client, job["id"])["files"]] == [EN_DOC]
    listed = [d["source"] for d in client.get("/api/kbs/docs/documents").json()["data"]]
    assert sorted(listed) == sorted([EN_DOC, EN_TXT])  # no duplicate
    removed = client.delete(f"/api/kbs/docs/documents/{EN_DOC}/").json()
    assert removed == {"source": EN_DOC, "removed_from_index": True, "removed_file": True}
    listed = [d["source"] for d in client.get("/api/kbs/docs/documents").json()["data"]]
    assert listed == [EN_TXT]


def test_chunks_list_edit_delete_stay_consistent(client: TestClient) -> None:
    upload(client, "docs", [doc(EN_DOC)])
    chunks = client.get(f"/api/kbs/docs/chunks?source={EN_DOC}").json()
    assert chunks["count"] > 1
    first = chunks["data"][0]
    assert client.get(f"/api/kbs/docs/chunks/{first['chunk_id']}").json() == first
    # Long enough to be embedded as several sentence windows.
    new_text = (
        "The lighthouse keeper logs the weather at dawn and again at dusk every day. "
        "Supply boats arrive on Tuesdays unless the harbour master closes the port. "
        "Quokkas are small marsupials that live on Rottnest Island near Perth. "
        "Visitors are asked not to feed them, since bread makes them ill."
    )
    edited = client.patch(f"/api/kbs/docs/chunks/{first['chunk_id']}", json={"text": new_text})
    assert edited.json()["text"] == new_text
    hits = client.post(
        "/api/search", json={"query": "quokka marsupial Rottnest", "kbs": ["docs"], "top_k": 1}
    ).json()
    assert hits["data"][0]["chunk_id"] == first["chunk_id"]
    last = chunks["data"][-1]["chunk_id"]
    assert client.delete(f"/api/kbs/docs/chunks/{last}").status_code == 204
    assert client.get(f"/api/kbs/docs/chunks/{last}").status_code == 404
    assert (
        client.get(f"/api/kbs/docs/documents/{EN_DOC}").json()["chunk_count"] == chunks["count"] - 1
    )
    kb = client.app.state.chatkb.library.open("docs")  # type: ignore[attr-defined]
    assert kb.store.check_consistency() == []
    windows = kb.store.connection().execute(
        "SELECT count(*) FROM windows w JOIN chunks c ON c.id = w.chunk WHERE c.chunk_id = ?",
        (first["chunk_id"],),
    )
    assert windows.fetchone()[0] >= 2
    assert client.get("/api/kbs/docs/chunks").status_code == 422


def test_limits_on_files_size_and_count(tmp_path: Path) -> None:
    overrides = {"server": {"max_upload_mb": 1, "max_files": 2, "max_body_mb": 3}}
    with (
        isolated_settings(tmp_path / "home", **overrides) as settings,
        TestClient(create_app(settings)) as c,
    ):
        c.post("/api/kbs", json={"name": "docs"})
        too_many = [("files", (f"{i}.txt", b"x")) for i in range(3)]
        response = c.post("/api/kbs/docs/documents", files=too_many)
        assert response.status_code == 413 and "max_files" in response.json()["error"]["message"]
        big = [("files", ("big.txt", b"x" * (1024 * 1024 + 1)))]
        response = c.post("/api/kbs/docs/documents", files=big)
        assert (
            response.status_code == 413 and "max_upload_mb" in response.json()["error"]["message"]
        )
        huge = [("files", ("huge.txt", b"x" * (3 * 1024 * 1024 + 10)))]
        response = c.post("/api/kbs/docs/documents", files=huge)
        assert response.status_code == 413 and "max_body_mb" in response.json()["error"]["message"]
        assert c.get("/api/kbs/docs/documents").json()["count"] == 0


@pytest.mark.slow
def test_searches_answer_while_a_large_ingestion_runs(client: TestClient) -> None:
    client.post("/api/kbs", json={"name": "other"})
    upload(client, "other", [doc(EN_DOC)])
    big = datasets_dir() / "en-dev" / "corpus" / "Private_school.txt"
    job = upload(client, "docs", [big], wait=False)["job"]
    answered_while_running = 0
    while client.get(f"/api/jobs/{job['id']}").json()["status"] in ("queued", "running"):
        started = time.monotonic()
        hits = client.post("/api/search", json={"query": "IBM founded", "kbs": ["other"]})
        assert hits.status_code == 200 and hits.json()["count"] > 0
        assert time.monotonic() - started < 30
        if client.get(f"/api/jobs/{job['id']}").json()["status"] == "running":
            answered_while_running += 1
    assert answered_while_running >= 1
    assert wait_job(client, job["id"])["status"] == "done"
