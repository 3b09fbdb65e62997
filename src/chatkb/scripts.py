"""Which documents of a knowledge base are written in a CJK script, and which are not.

Cross-lingual search (docs/retrieval.md#cross-lingual) searches each script's documents
separately, so that a question in one language still meets the passages of the other:
the embedder scores same-language passages higher across the board, which crowds the other
language out of one mixed ranking. A document's script is that of its first chunk; the
answer is kept per document version (its content hash), so a search reads only the
document list once the knowledge base has been seen.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from chatkb.kb import KnowledgeBase
from chatkb.store.base import DocumentRecord
from chatkb.tokenize import is_cjk_text

_lock = threading.Lock()
_known: dict[tuple[str, str, str], bool] = {}  # (kb, doc_id, content hash) -> CJK


@dataclass(frozen=True)
class Partition:
    """The document ids of each script; ``mixed`` when both hold documents."""

    cjk: tuple[str, ...]
    other: tuple[str, ...]

    @property
    def mixed(self) -> bool:
        return bool(self.cjk) and bool(self.other)


def partition(kb: KnowledgeBase, documents: Sequence[DocumentRecord] | None = None) -> Partition:
    """The knowledge base's documents by script (first chunk's text); ``documents`` when the
    caller has listed them already."""
    cjk: list[str] = []
    other: list[str] = []
    for document in kb.documents() if documents is None else documents:
        ref = (kb.name, document.doc_id, document.content_hash)
        with _lock:
            known = _known.get(ref)
        if known is None:
            chunks = kb.chunks(document.doc_id)
            known = bool(chunks) and is_cjk_text(chunks[0].text)
            with _lock:
                _known[ref] = known
        (cjk if known else other).append(document.doc_id)
    return Partition(tuple(cjk), tuple(other))
