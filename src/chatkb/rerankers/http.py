"""Any ``/rerank`` HTTP API: Jina, Cohere and Xinference style, or Hugging Face TEI style.

``api = "jina"`` sends ``{"model", "query", "documents", "top_n"}`` and reads
``{"results": [{"index", "relevance_score"}]}`` (Jina, Cohere, Xinference, vLLM, LocalAI).
``api = "tei"`` sends ``{"query", "texts"}`` and reads ``[{"index", "score"}]``
(text-embeddings-inference).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import httpx

from chatkb._http import post_json
from chatkb.errors import BackendUnavailableError, ConfigError
from chatkb.rerankers.base import to_probability
from chatkb.settings import RerankerSettings


class HttpReranker:
    """Posts each query and its passages to ``{base_url}/rerank`` in batches."""

    def __init__(self, settings: RerankerSettings) -> None:
        if not settings.base_url:
            raise ConfigError(
                "reranker backend 'http' needs a server URL, e.g. "
                "CHATKB_RERANKER__BASE_URL=http://127.0.0.1:9997/v1 (Xinference)"
            )
        self.base_url = settings.base_url.rstrip("/")
        self.api = settings.api
        self.model = settings.model
        self.name = settings.model or "http-reranker"
        self.batch_size = settings.batch_size
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        timeout = httpx.Timeout(settings.timeout, connect=10.0)
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        # Embedders and rerankers live as long as their owner; close the pool with them.
        weakref.finalize(self, self._client.close)

    def rerank(self, query: str, passages: Sequence[str]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(passages), self.batch_size):
            scores.extend(self._batch(query, passages[start : start + self.batch_size]))
        return to_probability(scores)

    def close(self) -> None:
        self._client.close()

    def _batch(self, query: str, passages: Sequence[str]) -> list[float]:
        body: dict[str, Any]
        if self.api == "tei":
            body = {"query": query, "texts": list(passages), "truncate": True}
        else:
            body = {"query": query, "documents": list(passages), "top_n": len(passages)}
            body["return_documents"] = False
            if self.model:
                body["model"] = self.model
        response = post_json(self._client, "/rerank", body, service="reranker")
        return _scores(response, len(passages), self.base_url)


def _scores(response: httpx.Response, count: int, base_url: str) -> list[float]:
    """Scores in passage order from either response shape."""
    try:
        data = response.json()
        rows = data if isinstance(data, list) else data["results"]
        by_index = {
            int(row["index"]): float(
                row["relevance_score"] if "relevance_score" in row else row["score"]
            )
            for row in rows
        }
        return [by_index[i] for i in range(count)]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackendUnavailableError(
            f"reranker at {base_url} sent a response chatkb cannot read ({exc!r}); set "
            "reranker.api to 'jina' (results/relevance_score) or 'tei' (index/score)"
        ) from None
