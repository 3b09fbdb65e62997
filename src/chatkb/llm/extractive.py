"""The default answerer with no LLM: the retrieved sentences that best match the question."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from chatkb.llm.prompts import is_chinese
from chatkb.models import Hit
from chatkb.splitter import sentences
from chatkb.tokenize import tokenize

NAME = "extractive"
MIN_SENTENCE_CHARS = 8  # shorter lines are titles or list bullets, not answers
RELATIVE_FLOOR = 0.5
LABEL_EN = "Extractive answer (no LLM configured), quoted from the sources:"
LABEL_ZH = "摘录式回答（未配置大模型），以下内容摘自资料原文："


def extractive_answer(question: str, hits: Sequence[Hit], *, max_sentences: int = 3) -> str:
    """Up to ``max_sentences`` source sentences, best first, each followed by its ``[n]``."""
    query = set(tokenize(question, drop_stopwords=True))
    candidates = [
        (n, s) for n, hit in enumerate(hits, 1) for s in sentences(hit.text) if _can_answer(s, hit)
    ]
    if not candidates:
        return ""
    tokens = [set(tokenize(s)) for _, s in candidates]
    df = Counter(t for ts in tokens for t in ts & query)
    idf = {t: math.log(1 + len(candidates) / df[t]) for t in df}

    def score(i: int) -> float:
        n = candidates[i][0]
        overlap = sum(idf[t] for t in tokens[i] & query)
        # Prefer earlier (better-ranked) passages and sentences of reasonable length.
        return overlap / math.sqrt(max(len(tokens[i]), 4)) + 0.05 / n

    order = sorted(range(len(candidates)), key=score, reverse=True)
    # Keep only sentences close to the best one: weak matches are noise, not support.
    floor = max(0.05, RELATIVE_FLOOR * score(order[0]))
    picked = [i for i in order[:max_sentences] if score(i) >= floor] or order[:1]
    label = LABEL_ZH if is_chinese(question) else LABEL_EN
    lines = [f"- {candidates[i][1].strip()} [{candidates[i][0]}]" for i in picked]
    return label + "\n\n" + "\n".join(lines)


def _can_answer(sentence: str, hit: Hit) -> bool:
    """Titles, bullets and questions (an FAQ repeats the user's question) answer nothing."""
    text = sentence.strip()
    return (
        len(text) >= MIN_SENTENCE_CHARS
        and text not in hit.heading_path
        and not text.rstrip("”’\"')）").endswith(("?", "？"))
    )
