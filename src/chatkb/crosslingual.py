"""Search a knowledge base that holds two scripts (Chinese and, say, English) per script.

The embedder places a question closer to every passage of its own language than to the
passages of the other, so in one mixed ranking the other language's right answer sinks
behind unrelated same-language passages, and the question's keywords cannot match the
other language at all (docs/retrieval.md#cross-lingual has the figures). So each script's
documents are searched separately, which brings both languages' best passages in, and the
other script's cosines are shifted so that its average candidate scores as the question's
own script's average candidate does: what stays is how far a passage stands out *within
its language*. The fusion then ranks those passages by the dense score alone, at
``retrieval.cross_lingual_weight`` of a same-script passage's best.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from chatkb.kb import KnowledgeBase
from chatkb.scripts import partition
from chatkb.store.base import ScoredKey
from chatkb.tokenize import is_cjk_text


@dataclass(frozen=True)
class Rankings:
    """Dense and keyword candidates of a two-script search.

    ``dense`` holds the shifted scores the fusion ranks by, ``cosines`` the raw ones (hits
    report them); ``foreign`` are the passages in the other script than the query's, and
    ``own_range`` the best and last cosine of the query's script, which scales the dense
    ranking as a one-script search would. ``own_cosines`` and ``foreign_cosines`` are each
    script's raw dense cosines, best first: the refusal gate judges each script against its
    own background (chatkb.relevance)."""

    dense: list[ScoredKey]
    keyword: list[ScoredKey]
    cosines: dict[int, float]
    foreign: frozenset[int]
    own_range: tuple[float, float] | None
    own_cosines: list[float]
    foreign_cosines: list[float]


# Above this many documents a knowledge base is searched as one: each script's search is a
# filter over its document ids, which grows with the knowledge base (at a million chunks it
# would cost more than the search itself), until stores index a chunk's script.
MAX_DOCUMENTS = 5000


def search_by_script(
    kb: KnowledgeBase,
    query: str,
    vector: np.ndarray | None,
    tokens: Sequence[str],
    candidates: int,
    within: Collection[str] | None,
) -> Rankings | None:
    """Each script's best candidates, or None when the knowledge base holds one script (or
    too many documents for searching within each script to stay cheap)."""
    documents = kb.documents()
    if len(documents) > MAX_DOCUMENTS:
        return None
    parts = partition(kb, documents)
    if not parts.mixed or vector is None:
        return None
    allowed = None if within is None else set(within)
    query_cjk = is_cjk_text(query)
    own: list[ScoredKey] = []
    other: list[ScoredKey] = []
    for docs, is_own in ((parts.cjk, query_cjk), (parts.other, not query_cjk)):
        scope = [d for d in docs if allowed is None or d in allowed]
        if scope:
            (own if is_own else other).extend(kb.dense_search(vector, candidates, scope))
    cosines = {h.key: h.score for h in [*own, *other]}
    offset = _level(own) - _level(other) if own and other else 0.0
    dense = sorted(
        [*own, *(ScoredKey(h.key, h.score + offset) for h in other)],
        key=lambda h: h.score,
        reverse=True,
    )
    # One keyword search over everything (searching within each script costs several
    # times more); a keyword-only passage's script is read from its text.
    keyword = kb.keyword_search(tokens, candidates, within) if tokens else []
    foreign = {h.key for h in other}
    unseen = [h.key for h in keyword if h.key not in cosines]
    foreign.update(c.key for c in kb.fetch(unseen) if is_cjk_text(c.text) != query_cjk)
    own_range = (own[0].score, own[-1].score) if own else None
    return Rankings(
        dense,
        keyword,
        cosines,
        frozenset(foreign),
        own_range,
        own_cosines=[h.score for h in own],
        foreign_cosines=[h.score for h in other],
    )


def _level(found: Sequence[ScoredKey]) -> float:
    """Where a script's candidates lie for this query: their mean cosine (measured against
    the median, the mean of the best 3 or 10, and the 1st, 2nd or 6th cosine: no better)."""
    return float(np.mean([h.score for h in found]))
