"""Retrieval and answer metrics on ranked chunk texts, as pure functions.

A chunk is *relevant* when it contains one of the question's gold answer strings, compared
without whitespace (line wraps and CJK spacing do not matter). Every function here is
checked by hand-made cases in tests/test_evaluate_metrics.py.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePosixPath

from chatkb.text import CJK_LETTERS

RECALL_KS = (1, 3, 5, 10)
BUDGETS = (1000, 2000, 4000)

_WORD = re.compile(rf"[{CJK_LETTERS}]|[^\W_]+")
# Citation markers ("[2]", "[1][3]") point at passages; they are not words of the answer.
_CITATION_MARKER = re.compile(r"\[\d{1,3}\]")
_ARTICLES = frozenset({"a", "an", "the"})
_PUNCTUATION = frozenset(string.punctuation) | frozenset(
    "，。、；：？！“”‘’（）《》【】…—·「」『』"
)


def squash(text: str) -> str:
    """``text`` without any whitespace."""
    return "".join(text.split())


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether ``text`` contains one of ``answers`` (whitespace-insensitive)."""
    squashed = squash(text)
    return any(a in squashed for a in (squash(x) for x in answers) if a)


def answer_rank(texts: Sequence[str], answers: Sequence[str]) -> int | None:
    """1-based rank of the first text that contains a gold answer, or None."""
    for rank, text in enumerate(texts, start=1):
        if contains_answer(text, answers):
            return rank
    return None


def within_budget(texts: Sequence[str], answers: Sequence[str], budget: int) -> bool:
    """Whether an answer occurs in the first ``budget`` characters of the ranked texts.

    The texts are read in rank order; the one that crosses the budget counts only up to it.
    An answer must lie inside one text: joining two chunks never creates a match.
    """
    left = budget
    for text in texts:
        if left <= 0:
            break
        if contains_answer(text[:left], answers):
            return True
        left -= len(text)
    return False


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """Fraction of questions whose first relevant chunk is within the top ``k``."""
    return sum(1 for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    """Mean reciprocal rank, counting only ranks up to ``k``."""
    return sum(1 / r for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def ndcg_at(relevant: Sequence[bool], k: int) -> float:
    """Binary nDCG@k of one ranking; the ideal puts the relevant retrieved chunks first.

    The collection's full set of relevant chunks is unknown, so the ideal is built from the
    relevant chunks among the top ``k``; a ranking with none scores 0.
    """
    top = list(relevant[:k])
    hits = sum(top)
    if not hits:
        return 0.0
    dcg = sum(1 / math.log2(i + 2) for i, rel in enumerate(top) if rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(hits))
    return dcg / ideal


def doc_key(source: str) -> str:
    """A source as a QA set names its document: ``corpus/Oxygen.txt`` → ``Oxygen``."""
    return PurePosixPath(source).stem


def doc_rank(sources: Sequence[str], doc_ids: Sequence[str], doc_id: str | None) -> int | None:
    """1-based rank of the first hit from the gold document (by source stem or doc_id)."""
    if not doc_id:
        return None
    for rank, (source, hit_doc) in enumerate(zip(sources, doc_ids, strict=True), start=1):
        if doc_id in (hit_doc, source, doc_key(source)):
            return rank
    return None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), interpolating linearly; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * min(max(q, 0.0), 100.0) / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def answer_tokens(text: str) -> list[str]:
    """Tokens for exact match and F1: CJK characters one by one, other words lower-cased.

    Punctuation and the English articles are dropped, as in SQuAD's official scorer, and so
    are citation markers such as ``[2]``.
    """
    normalised = _CITATION_MARKER.sub(" ", unicodedata.normalize("NFKC", text)).lower()
    tokens = _WORD.findall(normalised)
    return [t for t in tokens if t not in _ARTICLES and t not in _PUNCTUATION]


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised reference."""
    predicted = answer_tokens(prediction)
    return float(any(predicted == answer_tokens(r) for r in references if r.strip()))


def token_f1(prediction: str, references: Sequence[str]) -> float:
    """The best token-overlap F1 of the prediction against any reference."""
    predicted = Counter(answer_tokens(prediction))
    best = 0.0
    for reference in references:
        wanted = Counter(answer_tokens(reference))
        common = sum((predicted & wanted).values())
        if common:
            precision = common / sum(predicted.values())
            recall = common / sum(wanted.values())
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
