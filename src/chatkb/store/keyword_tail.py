"""The keyword index's tail: chunks logged after the published index's position, as the
catalog holds them now, scored with the same BM25 as the index (``keyword_index.py``)."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatkb.deferred import deferred
from chatkb.store import dense_log
from chatkb.store.base import ScoredKey
from chatkb.store.keyword_files import TOKENS

if TYPE_CHECKING:
    import tantivy
else:
    tantivy = deferred("tantivy", globals(), "tantivy")  # on first use: chatkb.deferred

K1, B = 1.2, 0.75  # FTS5's bm25() and tantivy's

_TOKENS_OF = (
    "SELECT c.id, c.doc_id, k.tokens FROM chunks c JOIN keywords k ON k.rowid = c.id "
    "WHERE c.id IN (SELECT value FROM json_each(?))"
)


@dataclass(frozen=True)
class Chunk:
    """A tail chunk as the catalog holds it now."""

    doc: str
    counts: Counter[str]
    length: int


def score(
    searcher: tantivy.Searcher,
    tail: dict[int, Chunk | None],
    terms: Sequence[str],
    mean_tokens: float,
    within: Collection[str] | None,
) -> list[ScoredKey]:
    """BM25 of the tail's chunks. Document counts are the index's plus the tail's own
    (a chunk replaced in the tail still counts in the index until tantivy merges its
    segment, as every deleted document does in tantivy's BM25)."""
    live = [(key, chunk) for key, chunk in tail.items() if chunk is not None]
    if not live:
        return []
    total = searcher.num_docs + len(live)
    idf = {}
    for term in terms:
        df = searcher.doc_freq(TOKENS, term) + sum(term in c.counts for _, c in live)
        idf[term] = math.log(1 + (total - df + 0.5) / (df + 0.5))
    if within is not None:
        allowed = set(within)
        live = [(key, chunk) for key, chunk in live if chunk.doc in allowed]
    mean = max(mean_tokens, 1.0)
    out = []
    for key, chunk in live:
        norm = K1 * (1 - B + B * chunk.length / mean)
        score = 0.0
        for term in terms:
            tf = chunk.counts.get(term, 0)
            if tf:
                score += idf[term] * tf * (K1 + 1) / (tf + norm)
        if score > 0:
            out.append(ScoredKey(key, score))
    return out


def rows_of(conn: sqlite3.Connection, keys: list[int]) -> list[tuple[int, str, str]]:
    rows: list[tuple[int, str, str]] = []
    for start in range(0, len(keys), 5000):
        part = json.dumps(keys[start : start + 5000])
        rows.extend(conn.execute(_TOKENS_OF, (part,)).fetchall())
    return rows


def read(
    conn: sqlite3.Connection, tail: dict[int, Chunk | None], after: int, upto: int
) -> dict[int, Chunk | None]:
    """``tail`` with the chunks logged in (after, upto] as the catalog holds them now."""
    conn.execute("BEGIN")
    try:
        keys = dense_log.touched(conn, after, upto).tolist()
        rows = rows_of(conn, keys)
    finally:
        conn.execute("COMMIT")
    new: dict[int, Chunk | None] = dict(tail)
    new.update(dict.fromkeys(keys))
    for key, doc, tokens in rows:
        words = tokens.split()
        new[key] = Chunk(doc, Counter(words), len(words))
    return new
