"""Follow-up questions: a standalone rewrite by the LLM, and what history gives without one.

"And how many days for part-timers?" retrieves little on its own; rewritten with the
conversation ("How many vacation days do part-time employees get?") it does. The rewrite is
an extra search query beside the user's own question, never a replacement (chatkb.answer
fuses both), and it is discarded when it drifts from the conversation: a small model often
answers instead of rewriting, or carries a fact over from its own earlier answer. Without
an LLM the previous user question joins the follow-up as a context query
(``context_query``). The model still answers the user's own words with the history beside
them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from chatkb.llm.base import ChatModel, GenerationOptions
from chatkb.llm.prompts import is_chinese
from chatkb.models import Message
from chatkb.tokenize import tokenize

log = logging.getLogger(__name__)

MAX_TURNS = 6  # the last few turns carry the references; older ones only add noise
MAX_TURN_CHARS = 1000
_OPTIONS = GenerationOptions(temperature=0.0, max_tokens=128)
_LABEL = re.compile(
    r"^\s*(?:standalone question|rewritten question|question|独立问题|改写后的问题|问题)"
    r"\s*[:：]\s*",
    re.IGNORECASE,
)

SYSTEM_EN = (
    "Rewrite the user's follow-up question as one standalone question that can be "
    "understood without the conversation: replace pronouns and references with what they "
    "refer to. Keep names, numbers and the question's language. If it is already "
    "standalone, repeat it unchanged. Reply with the question only."
)
SYSTEM_ZH = (
    "把用户的追问改写成一个脱离对话也能看懂的独立问题：把代词和指代换成它们所指的内容。"
    "保留名称、数字和提问的语言。如果问题本身已经完整，就原样重复。只输出改写后的问题。"
)


def rewrite_query(question: str, history: Sequence[Message], chat_model: ChatModel | None) -> str:
    """A standalone version of ``question``; unchanged without a model or history."""
    turns = [m for m in history if m.role in ("user", "assistant") and m.content.strip()]
    if chat_model is None or not turns:
        return question
    reply = "".join(chat_model.stream(rewrite_messages(question, turns), _OPTIONS))
    rewritten = clean_rewrite(reply)
    # A reply far longer than a question is an answer or a ramble, not a rewrite.
    if not rewritten or len(rewritten) > 3 * len(question) + 200:
        log.info("query rewrite discarded: %r", reply[:200])
        return question
    why = drift(rewritten, question, turns)
    if why:
        log.info("query rewrite discarded (%s): %r", why, rewritten)
        return question
    log.info("query rewritten: %r -> %r", question, rewritten)
    return rewritten


# A rewrite adds what the pronoun stood for; more new words than this share is a new topic.
MAX_NEW_SHARE = 0.34
# A rewrite keeps the question: at least this share of its keywords must survive.
MIN_KEPT_SHARE = 0.5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def drift(rewritten: str, question: str, history: Sequence[Message]) -> str | None:
    """Why ``rewritten`` is not a faithful rewrite of ``question``, or None when it is.

    Faithful: most of its keywords come from the question or the conversation, it keeps
    most of the question's keywords, and it takes no number from the assistant's answers
    that the user never wrote (a rewrite that "knows" the answer searches for the model's
    claim, not for the user's question).
    """
    words = set(tokenize(rewritten, drop_stopwords=True))
    asked = set(tokenize(question, drop_stopwords=True))
    users = " ".join(m.content for m in history if m.role == "user")
    said = set(tokenize(users, drop_stopwords=True))
    answers = " ".join(m.content for m in history if m.role == "assistant")
    heard = set(tokenize(answers, drop_stopwords=True))
    if not words:
        return "no keywords"
    new = words - asked - said - heard
    if len(new) > MAX_NEW_SHARE * len(words):
        return f"new words {sorted(new)[:5]}"
    if asked and len(asked & words) < MIN_KEPT_SHARE * len(asked):
        return "the question's own words are gone"
    numbers = set(_NUMBER.findall(rewritten)) - set(_NUMBER.findall(question + " " + users))
    if numbers & set(_NUMBER.findall(answers)):
        return f"numbers from the answer {sorted(numbers)}"
    return None


def context_query(question: str, history: Sequence[Message]) -> str | None:
    """The previous user question joined with this one, or None without one.

    What a follow-up's pronoun ("it", "它") or missing subject stands for is nearly always
    named in the user's previous turn; searched together, the two find its passages without
    any model. The question's own words stay in, so a new topic still finds its own.
    """
    previous = [m.content.strip() for m in history if m.role == "user" and m.content.strip()]
    if not previous or previous[-1] == question.strip():
        return None
    return f"{previous[-1][:MAX_TURN_CHARS]} {question}"


def rewrite_messages(question: str, history: Sequence[Message]) -> list[Message]:
    chinese = is_chinese(question)
    names = {"user": "用户" if chinese else "User", "assistant": "助手" if chinese else "Assistant"}
    lines = [f"{names[m.role]}: {m.content.strip()[:MAX_TURN_CHARS]}" for m in history[-MAX_TURNS:]]
    conversation = "\n".join(lines)
    if chinese:
        user = f"对话：\n{conversation}\n\n追问：{question}\n独立问题："
    else:
        user = (
            f"Conversation:\n{conversation}\n\nFollow-up question: {question}\nStandalone question:"
        )
    return [Message("system", SYSTEM_ZH if chinese else SYSTEM_EN), Message("user", user)]


def clean_rewrite(reply: str) -> str:
    """The first non-empty line of the reply, without a label or surrounding quotes."""
    for line in reply.strip().splitlines():
        text = _LABEL.sub("", line).strip().strip("\"'“”「」").strip()
        if text:
            return text
    return ""
