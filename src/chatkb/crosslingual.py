"""Search a knowledge base that holds two scripts (Chinese and, say, English) per script.

The embedder places a question closer to every passage of its own language than to the
passages of the other, so in one mixed ranking the other language's right answer sinks
behind unrelated same-language passages, and the question's keywords cannot match the
other language at all (docs/retrieval.md#cross-lingual has the figures). So each script's
documents are searched separately, which brings both languages' best passages in, and the
other script's cosines are shifted so that its average candidate scores as the question's
own script's average candidate does: what stays is how far a passage stands out *within
its language*. The fusion then ranks those passages by the dense score, at
``retrieval.cross_lingual_weight`` of a same-script passage's best.

The question's keywords cannot match the other script, so the question is also translated
word by word (chatkb.bilingual, a dictionary) and the translation searched by keyword: the
other script's passages get a keyword ranking of their own, added at the same weight. How
much it counts depends on which language the knowledge base answers in: by the ratio of
the translation's best BM25 score to the question's own best, from nothing at
``TRANSLATION_RAMP[0]`` to all of it at ``TRANSLATION_RAMP[1]`` (measured on the
cross-lingual set, the median ratio is 1.4-1.55 for questions answered in the other
language and 0.3-0.6 for those answered in their own; a ramp from 0.9 cost en-dev's
MRR 0.005 on a mixed knowledge base).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from chatkb.bilingual import translate_words
from chatkb.kb import KnowledgeBase
from chatkb.scripts import partition
from chatkb.store.base import ScoredKey
from chatkb.tokenize import is_cjk_text, tokenize, words


@dataclass(frozen=True)
class Rankings:
    """Dense and keyword candidates of a two-script search.

    ``dense`` holds the shifted scores the fusion ranks by, ``cosines`` the raw ones (hits
    report them); ``foreign`` are the passages in the other script than the query's, and
    ``own_range`` the best and last cosine of the query's script, which scales the dense
    ranking as a one-script search would. ``own_cosines`` and ``foreign_cosines`` are each
    script's raw dense cosines, best first: the refusal gate judges each script against its
    own background (chatkb.relevance). ``foreign_keyword`` is the translated question's
    keyword ranking of the other script's passages, ``translation_weight`` (0..1) how much
    of it counts, and ``translated_words`` the question's words that translate, each as the
    keyword tokens of its senses."""

    dense: list[ScoredKey]
    keyword: list[ScoredKey]
    cosines: dict[int, float]
    foreign: frozenset[int]
    own_range: tuple[float, float] | None
    own_cosines: list[float]
    foreign_cosines: list[float]
    foreign_keyword: list[ScoredKey]
    translation_weight: float
    translated_words: list[list[str]]


# Above this many documents a knowledge base is searched as one: each script's search is a
# filter over its document ids, which grows with the knowledge base (at a million chunks it
# would cost more than the search itself), until stores index a chunk's script.
MAX_DOCUMENTS = 5000

# The translation's best BM25 score over the question's own: from the first ratio the
# translated keyword ranking starts to count, from the second it counts fully.
TRANSLATION_RAMP = (1.0, 1.6)


def search_by_script(
    kb: KnowledgeBase,
    query: str,
    vector: np.ndarray | None,
    tokens: Sequence[str],
    candidates: int,
    within: Collection[str] | None,
    *,
    translate_query: bool = True,
) -> Rankings | None:
    """Each script's best candidates, or None when the knowledge base holds one script (or
    too many documents for searching within each script to stay cheap)."""
    if kb.document_count() > MAX_DOCUMENTS:  # counted, not listed: a write moves it on
        return None
    parts = kb.kept("scripts", lambda: partition(kb, kb.documents()))
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
    foreign.update(key for key, cjk in _cjk_by_key(kb, unseen).items() if cjk != query_cjk)
    by_word = translate_words(query) if translate_query else []
    translation = " ".join(dict.fromkeys(sense for senses in by_word for sense in senses))
    tokens = tokenize(translation, drop_stopwords=True)
    translated = _translated_search(kb, query_cjk, tokens, candidates, within)
    foreign.update(h.key for h in translated)
    own_keyword = next((h.score for h in keyword if h.key not in foreign), 0.0)
    own_range = (own[0].score, own[-1].score) if own else None
    return Rankings(
        dense,
        keyword,
        cosines,
        frozenset(foreign),
        own_range,
        own_cosines=[h.score for h in own],
        foreign_cosines=[h.score for h in other],
        foreign_keyword=translated,
        translation_weight=_translation_weight(translated, own_keyword),
        translated_words=[[t for sense in senses for t in words(sense)] for senses in by_word],
    )


def _translated_search(
    kb: KnowledgeBase,
    query_cjk: bool,
    tokens: Sequence[str],
    candidates: int,
    within: Collection[str] | None,
) -> list[ScoredKey]:
    """The other script's passages by the keywords of the question's translation.

    One search over the whole scope, not within the other script's documents: the
    translation's words exist only in the other script (a filter by document made this
    search ten times slower), and the few passages of the question's own script that it
    still matches (a Latin name in Chinese prose) are dropped by their text."""
    if not tokens:
        return []
    found = kb.keyword_search(tokens, candidates, within)
    scripts = _cjk_by_key(kb, [h.key for h in found])
    return [h for h in found if scripts.get(h.key, query_cjk) != query_cjk]


def _cjk_by_key(kb: KnowledgeBase, keys: Sequence[int]) -> dict[int, bool]:
    """Whether each chunk is written in a CJK script, by key; read from its text once until
    the next write (a search reads about a hundred keyword hits' scripts)."""
    known: dict[int, bool] = kb.kept("chunk scripts", dict)
    unknown = [key for key in keys if key not in known]
    if unknown:
        known.update((c.key, is_cjk_text(c.text)) for c in kb.fetch(unknown))
    return {key: known[key] for key in keys if key in known}


def _translation_weight(translated: Sequence[ScoredKey], own_best: float) -> float:
    """How much the translated keyword ranking counts, by how its best BM25 score compares
    with the question's own best (``TRANSLATION_RAMP``); fully when nothing of the
    question's own script matched."""
    if not translated:
        return 0.0
    if own_best <= 0:
        return 1.0
    low, high = TRANSLATION_RAMP
    return min(1.0, max(0.0, (translated[0].score / own_best - low) / (high - low)))


def _level(found: Sequence[ScoredKey]) -> float:
    """Where a script's candidates lie for this query: their mean cosine (measured against
    the median, the mean of the best 3 or 10, and the 1st, 2nd or 6th cosine: no better)."""
    return float(np.mean([h.score for h in found]))
