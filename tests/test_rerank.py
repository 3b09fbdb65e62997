"""The reranker seam: the HTTP client against a real local server, retrieval with a
reranker, and the cross-encoder backend's plumbing.

No cross-encoder model (bge-reranker) can be obtained offline here. The HTTP tests use a
real server (tests/_rerank_server.py) that scores with multilingual-e5-small cosines; the
cross-encoder tests load the bundled all-MiniLM-L6-v2 bi-encoder as a cross-encoder, whose
classification head is then untrained: they check loading, pairing, batching and the 0..1
scale, not ranking quality.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _minilm import minilm_path, needs_st
from _rerank_server import RerankServer, rerank_server  # noqa: F401
from _small_kb import build_small_kb, copy_into
from chatkb.errors import BackendUnavailableError, ConfigError, DeviceError
from chatkb.kb import Library
from chatkb.rerankers import make_reranker, to_probability
from chatkb.retrieve import search
from chatkb.settings import RerankerSettings, Settings
from conftest import Cli

pytestmark = pytest.mark.server

QUERY = "When was IBM founded?"
PASSAGES = [
    "Prince, so Genoa and Lucca are now just family estates of the Buonapartes.",
    "IBM was founded in 1911 as the Computing-Tabulating-Recording Company (CTR).",
    "The speaker was the well-known Anna Pavlovna Scherer, maid of honor.",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_kb(tmp_path_factory.mktemp("rerank"))


def _http(server: RerankServer, **options: object) -> RerankerSettings:
    return RerankerSettings(backend="http", base_url=server.base_url, model="e5", **options)


def test_http_reranker_puts_the_answer_first(rerank_server: RerankServer) -> None:  # noqa: F811
    reranker = make_reranker(_http(rerank_server))
    assert reranker is not None
    scores = reranker.rerank(QUERY, PASSAGES)
    assert len(scores) == 3 and all(0 <= s <= 1 for s in scores)
    assert max(range(3), key=lambda i: scores[i]) == 1
    sent = rerank_server.requests[-1]
    assert sent["query"] == QUERY and sent["documents"] == PASSAGES and sent["model"] == "e5"


def test_tei_shape_and_batches_keep_passage_order(rerank_server: RerankServer) -> None:  # noqa: F811
    jina = make_reranker(_http(rerank_server, batch_size=2))
    tei = make_reranker(_http(rerank_server, api="tei"))
    assert jina is not None and tei is not None
    batched = jina.rerank(QUERY, PASSAGES)
    assert len(rerank_server.requests[-1]["documents"]) == 1  # 3 passages in batches of 2
    assert tei.rerank(QUERY, PASSAGES) == pytest.approx(batched, abs=1e-5)
    assert "texts" in rerank_server.requests[-1]


def test_server_errors_are_clear(rerank_server: RerankServer) -> None:  # noqa: F811
    reranker = make_reranker(_http(rerank_server))
    assert reranker is not None
    rerank_server.fail_with = 503
    try:
        with pytest.raises(BackendUnavailableError, match="HTTP 503"):
            reranker.rerank(QUERY, PASSAGES)
    finally:
        rerank_server.fail_with = None
    down = make_reranker(RerankerSettings(backend="http", base_url="http://127.0.0.1:9/v1"))
    assert down is not None
    with pytest.raises(BackendUnavailableError, match="is it running"):
        down.rerank(QUERY, PASSAGES)


def test_backend_names_and_configuration() -> None:
    assert make_reranker(RerankerSettings()) is None  # off by default
    with pytest.raises(ConfigError, match="cross-encoder, http, none"):
        make_reranker(RerankerSettings(backend="bge"))
    with pytest.raises(ConfigError, match="BASE_URL"):
        make_reranker(RerankerSettings(backend="http"))
    assert to_probability([0.2, 0.9]) == [0.2, 0.9]
    assert to_probability([0.0, 2.0])[1] == pytest.approx(0.8808, abs=1e-4)


def test_search_reorders_by_the_reranker(
    settings: Settings,
    home: Path,
    built: Path,
    rerank_server: RerankServer,  # noqa: F811
) -> None:
    copy_into(home, built)
    kb = Library(settings).open("small")
    reranker = make_reranker(_http(rerank_server))
    plain = search([kb], QUERY, settings.retrieval, top_k=5)
    reranked = search([kb], QUERY, settings.retrieval, top_k=5, reranker=reranker)
    assert len(reranked.hits) == 5
    scores = [h.score for h in reranked.hits]
    assert scores == sorted(scores, reverse=True)
    # The score is now the server's cosine for that passage.
    expected = rerank_server.scores(QUERY, [reranked.hits[0].text])[0]
    assert reranked.hits[0].score == pytest.approx(expected, abs=0.02)
    assert "1911" in reranked.hits[0].text and reranked.relevance.found
    assert reranked.relevance.signals is not None and reranked.relevance.signals.rerank
    assert {h.chunk_id for h in plain.hits} & {h.chunk_id for h in reranked.hits}


def test_cli_search_uses_the_configured_reranker(
    cli: Cli,
    home: Path,
    built: Path,
    rerank_server: RerankServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy_into(home, built)
    monkeypatch.setenv("CHATKB_RERANKER__BACKEND", "http")
    monkeypatch.setenv("CHATKB_RERANKER__BASE_URL", rerank_server.base_url)
    before = len(rerank_server.requests)
    hits = cli.json("search", "small", QUERY, "--top-k", "3")
    # 20 fused candidates re-scored in batches of 16: two requests.
    assert len(rerank_server.requests) == before + 2
    assert "1911" in hits[0]["text"]


@needs_st
def test_cross_encoder_loads_once_and_scores_pairs() -> None:
    reranker = make_reranker(
        RerankerSettings(backend="cross-encoder", model=minilm_path(), device="cpu", batch_size=2)
    )
    assert reranker is not None
    first = reranker.rerank(QUERY, PASSAGES)
    assert len(first) == 3 and all(0 <= s <= 1 for s in first)
    assert reranker.rerank(QUERY, PASSAGES) == pytest.approx(first)  # same loaded model
    assert reranker.rerank(QUERY, []) == []


@needs_st
def test_cross_encoder_errors() -> None:
    with pytest.raises(ConfigError, match="model directory"):
        make_reranker(RerankerSettings(backend="cross-encoder"))
    with pytest.raises(BackendUnavailableError, match="cannot load"):
        make_reranker(
            RerankerSettings(backend="cross-encoder", model="/nonexistent/model", device="cpu")
        )
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            make_reranker(
                RerankerSettings(backend="cross-encoder", model=minilm_path(), device="cuda")
            )
