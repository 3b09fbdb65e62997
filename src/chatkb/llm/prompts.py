"""Prompts for answering from numbered passages, in Chinese and English.

Each knowledge base may carry a ``PromptTemplate`` (its own system prompt, answer language
and citation style); the default template gives the built-in prompts below unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from chatkb.errors import InvalidInputError
from chatkb.models import Hit, Message
from chatkb.text import IDEOGRAPHS


@cache
def _ideograph() -> re.Pattern[str]:
    """Compiled at first use, as in chatkb.tokenize (the compiler is slow over CJK ranges)."""
    return re.compile(f"[{IDEOGRAPHS}]")


SYSTEM_EN = (
    "You answer questions from a private knowledge base. Use only the numbered passages "
    "below. After each fact, cite its passage as [n]. If the passages do not contain the "
    "answer, say that the knowledge base does not contain it; never invent facts. Answer in "
    "the language of the question, concisely."
)
SYSTEM_ZH = (
    "你是知识库问答助手。只根据下面编号的资料回答问题，在每个事实后用 [n] 标注出处。"
    "如果资料中没有答案，就说明知识库中没有相关内容，不要编造。用提问的语言简洁作答。"
)


ANSWER_LANGUAGES = ("auto", "zh", "en")
CITATION_STYLES = ("inline", "end", "none")

# The parts a template's system prompt is made of: persona (or the knowledge base's own
# system prompt), grounding, citations, language. The citation rules keep "[n]" markers,
# which the answer's citation list is built from.
_PARTS = {
    "zh": {
        "persona": "你是知识库问答助手。",
        "grounding": (
            "只根据下面编号的资料回答问题。"
            "如果资料中没有答案，就说明知识库中没有相关内容，不要编造。"
        ),
        "inline": "在每个事实后用 [n] 标注出处。",
        "end": "在回答末尾用 [n] 列出所用资料的编号。",
        "none": "不要添加引用标记。",
        "auto": "用提问的语言简洁作答。",
        "lang_zh": "用中文简洁作答。",
        "lang_en": "用英文简洁作答。",
    },
    "en": {
        "persona": "You answer questions from a private knowledge base.",
        "grounding": (
            "Use only the numbered passages below. If the passages do not contain the answer, "
            "say that the knowledge base does not contain it; never invent facts."
        ),
        "inline": "After each fact, cite its passage as [n].",
        "end": "End the answer with the numbers of the passages you used, as [n].",
        "none": "Do not add citation markers.",
        "auto": "Answer in the language of the question, concisely.",
        "lang_zh": "Answer in Chinese, concisely.",
        "lang_en": "Answer in English, concisely.",
    },
}

# The reminder after the question. Small models (SmolLM2-135M, Qwen2.5-0.5B) follow the
# last lines of the user turn far more than a system prompt placed before long passages:
# without it they rarely cite and often retell the passages (docs/answers.md has figures).
_REMINDER = {
    "zh": {
        "task": "请只根据上面的资料，用资料中的原话，以一两句话回答问题。",
        "inline": "在回答后用方括号写出答案所在资料的编号，例如 [1]。",
        "end": "在回答末尾用方括号列出所用资料的编号，例如 [1]。",
        "none": "",
        "refuse": "如果资料中没有答案，就说知识库中没有相关内容。",
        "auto": "",
        "lang_zh": "用中文回答。",
        "lang_en": "用英文回答。",
    },
    "en": {
        # The task and the citation rule make one sentence: told apart ("After the answer,
        # write [1]"), Qwen2.5-0.5B answered with the marker alone.
        "task": "Reply with a full sentence that answers the question, using only the "
        "passages above",
        "inline": ", followed by the passage number in square brackets.",
        "end": ", and end the answer with the numbers of the passages you used, like [1].",
        "none": ".",
        "refuse": "If the passages do not contain the answer, say that the knowledge base does "
        "not contain it.",
        "auto": "",
        "lang_zh": "Answer in Chinese.",
        "lang_en": "Answer in English.",
    },
}


@dataclass(frozen=True)
class PromptTemplate:
    """How one knowledge base wants its answers.

    ``system_prompt`` replaces the built-in persona line (the grounding, citation and language
    rules are still added, so citations keep working); ``answer_language`` is ``auto`` (the
    question's language), ``zh`` or ``en``; ``citation_style`` is ``inline`` ([n] after each
    fact), ``end`` ([n] list at the end) or ``none``.
    """

    system_prompt: str = ""
    answer_language: str = "auto"
    citation_style: str = "inline"

    def __post_init__(self) -> None:
        if self.answer_language not in ANSWER_LANGUAGES:
            choices = ", ".join(ANSWER_LANGUAGES)
            raise InvalidInputError(f"answer language {self.answer_language!r}: use {choices}")
        if self.citation_style not in CITATION_STYLES:
            choices = ", ".join(CITATION_STYLES)
            raise InvalidInputError(f"citation style {self.citation_style!r}: use {choices}")

    @property
    def is_default(self) -> bool:
        return self == PromptTemplate()

    def system(self, question: str) -> str:
        """The system prompt for ``question``."""
        chinese = is_chinese(question)
        if self.is_default:
            return SYSTEM_ZH if chinese else SYSTEM_EN
        zh = self.answer_language == "zh" or (self.answer_language == "auto" and chinese)
        parts = _PARTS["zh" if zh else "en"]
        language = "auto" if self.answer_language == "auto" else f"lang_{self.answer_language}"
        persona = self.system_prompt.strip() or parts["persona"]
        rules = [parts["grounding"], parts[self.citation_style], parts[language]]
        # Chinese sentences join without spaces, English ones with one.
        return persona + "\n\n" + ("" if zh else " ").join(rules)

    def reminder(self, question: str) -> str:
        """The short instruction put after the question: brevity, citations, refusal."""
        zh = is_chinese(question)
        parts = _REMINDER["zh" if zh else "en"]
        language = "auto" if self.answer_language == "auto" else f"lang_{self.answer_language}"
        task = parts["task"] + parts[self.citation_style]
        rules = [task, parts["refuse"], parts[language]]
        return ("" if zh else " ").join(rule for rule in rules if rule)


def is_chinese(text: str) -> bool:
    """True when at least a fifth of the letters are CJK ideographs."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and len(_ideograph().findall(text)) * 5 >= len(letters)


def passage_header(n: int, hit: Hit) -> str:
    where = f"{hit.source}, p. {hit.page}" if hit.page else hit.source
    return f"[{n}] ({where})"


def answer_messages(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Message] = (),
    *,
    template: PromptTemplate | None = None,
) -> list[Message]:
    """System prompt (from the knowledge base's template), earlier turns, passages, question."""
    chinese = is_chinese(question)
    passages = "\n\n".join(f"{passage_header(n, h)}\n{h.text}" for n, h in enumerate(hits, 1))
    label_p, label_q = ("资料", "问题") if chinese else ("Passages", "Question")
    chosen = template or PromptTemplate()
    user = f"{label_p}:\n{passages}\n\n{label_q}: {question}\n\n{chosen.reminder(question)}"
    system = chosen.system(question)
    return [Message("system", system), *history, Message("user", user)]


def not_found_text(question: str, kb_names: Sequence[str]) -> str:
    names = ", ".join(kb_names)
    if is_chinese(question):
        return f"知识库（{names}）中没有找到与这个问题相关的内容。"
    return f"Nothing relevant to this question was found in the knowledge base ({names})."
