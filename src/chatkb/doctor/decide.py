"""From collected facts to checks: what works, what does not, and what to do about it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chatkb.doctor.cuda_compat import check_runtime
from chatkb.doctor.report import Check, DriverInfo, ModelInfo, RuntimeInfo
from chatkb.llm.servers import ServerInfo

# Which library a model backend runs on, so a driver/runtime mismatch of that library is an
# error (the configured model cannot use the GPU) rather than a warning about an unused one.
RUNTIME_OF_BACKEND = {
    "sentence-transformers": "torch",
    "sentence_transformers": "torch",
    "cross-encoder": "torch",
    "llamacpp": "xllamacpp",
}


def decide(
    driver: DriverInfo,
    runtimes: Sequence[RuntimeInfo],
    models: Sequence[ModelInfo],
    servers: Sequence[ServerInfo],
    *,
    llm_backend: str = "extractive",
) -> tuple[Check, ...]:
    used = {RUNTIME_OF_BACKEND.get(m.backend) for m in models}
    checks = [driver_check(driver)]
    checks += runtime_checks(driver, runtimes, used)
    checks += [model_check(m) for m in models]
    checks += server_checks(servers, gpus=bool(driver.gpus), llm_backend=llm_backend)
    return tuple(checks)


def driver_check(driver: DriverInfo) -> Check:
    if driver.source is None:
        return Check("gpu", "info", f"{driver.error or 'no NVIDIA GPU'}; models run on the CPU")
    names = ", ".join(g.name for g in driver.gpus) or "no GPU listed"
    cuda = f", supports CUDA ≤ {driver.cuda_version}" if driver.cuda_version else ""
    return Check("gpu", "ok", f"NVIDIA driver {driver.driver_version}{cuda}: {names}")


def runtime_checks(
    driver: DriverInfo, runtimes: Iterable[RuntimeInfo], used: set[str | None]
) -> list[Check]:
    checks = []
    for runtime in runtimes:
        if not runtime.cuda_version:
            continue
        check = check_runtime(
            runtime.name,
            runtime.cuda_version,
            driver_version=driver.driver_version,
            driver_cuda=driver.cuda_version,
            used=runtime.name in used,
        )
        if check.status == "ok" and driver.gpus and runtime.cuda_usable is False:
            check = Check(
                check.name,
                "error" if runtime.name in used else "warn",
                f"{runtime.name} cannot use the GPU although the driver supports its CUDA "
                f"version{': ' + runtime.note if runtime.note else ''}",
                "check that the process sees the GPU (CUDA_VISIBLE_DEVICES; --gpus all in Docker)",
            )
        checks.append(check)
    return checks


def model_check(model: ModelInfo) -> Check:
    name = f"{model.role}:{model.backend}"
    if model.error:
        return Check(name, "error", model.error, _model_fix(model))
    label = f"{model.role} {model.model or model.backend}"
    if model.device == "none":
        return Check(name, "ok", f"{label}: {model.detail}")
    return Check(name, "ok", f"{label} runs on {model.device}" + _suffix(model.detail))


def _suffix(detail: str | None) -> str:
    return f" ({detail})" if detail else ""


def _model_fix(model: ModelInfo) -> str:
    if model.role == "embedder":
        return "fix the [embedder] settings (docs/models.md), or use the default: e5-small-onnx"
    return 'fix the [llm] settings (docs/models.md), or set llm.backend = "extractive"'


def server_checks(servers: Iterable[ServerInfo], *, gpus: bool, llm_backend: str) -> list[Check]:
    checks: list[Check] = []
    for server in servers:
        name = f"server:{server.role}"
        if not server.reachable:
            if server.configured:
                fix = f"start the server or correct its URL ({server.url})"
                checks.append(Check(name, "error", f"{server.url}: {server.error}", fix))
            continue
        checks.append(_reachable(server, name, llm_backend))
        checks += _vram_checks(server, gpus)
    return checks


def _reachable(server: ServerInfo, name: str, llm_backend: str) -> Check:
    chat = [m.name for m in server.models if not m.embedding_only]
    if not server.configured and llm_backend == "extractive":
        hint = (
            f"Ollama at {server.url} offers {', '.join(chat) or 'no chat model'}; to answer "
            'with one set llm.preset = "ollama" and llm.model = "NAME" (or llm.backend = '
            '"auto")'
        )
        return Check(name, "info", hint)
    version = f" {server.version}" if server.version else ""
    models = ", ".join(m.name for m in server.models) or "no models"
    return Check(name, "ok", f"{server.kind}{version} at {server.url}: {models}")


def _vram_checks(server: ServerInfo, gpus: bool) -> list[Check]:
    checks = []
    for model in server.models:
        if not model.loaded or model.vram_fraction is None or model.vram_fraction >= 0.999:
            continue
        where = (
            "entirely on the CPU"
            if model.vram_fraction == 0
            else (f"only {model.vram_fraction:.0%} in GPU memory, the rest on the CPU")
        )
        fix = (
            "free GPU memory, pick a smaller model or quantisation, or check that Ollama "
            "sees the GPU (its log names the reason)"
        )
        checks.append(
            Check(
                f"server:{server.role}",
                "warn" if gpus else "info",
                f"{model.name} runs {where}",
                fix,
            )
        )
    return checks
