"""Prompts for answering from numbered passages, in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatkb.models import Hit, Message

_CJK = re.compile(r"[\u4e00-\u9fff]")

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


def is_chinese(text: str) -> bool:
    """True when at least a fifth of the letters are CJK ideographs."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and len(_CJK.findall(text)) * 5 >= len(letters)


def passage_header(n: int, hit: Hit) -> str:
    where = f"{hit.source}, p. {hit.page}" if hit.page else hit.source
    return f"[{n}] ({where})"


def answer_messages(
    question: str, hits: Sequence[Hit], history: Sequence[Message] = ()
) -> list[Message]:
    """System prompt, earlier turns, then the passages and the question."""
    chinese = is_chinese(question)
    passages = "\n\n".join(f"{passage_header(n, h)}\n{h.text}" for n, h in enumerate(hits, 1))
    label_p, label_q = ("资料", "问题") if chinese else ("Passages", "Question")
    user = f"{label_p}:\n{passages}\n\n{label_q}: {question}"
    system = SYSTEM_ZH if chinese else SYSTEM_EN
    return [Message("system", system), *history, Message("user", user)]


def not_found_text(question: str, kb_names: Sequence[str]) -> str:
    names = ", ".join(kb_names)
    if is_chinese(question):
        return f"知识库（{names}）中没有找到与这个问题相关的内容。"
    return f"Nothing relevant to this question was found in the knowledge base ({names})."
