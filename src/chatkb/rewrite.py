"""Follow-up questions become standalone search queries, using the chat history.

"And how many days for part-timers?" retrieves nothing useful on its own; rewritten with
the conversation ("How many vacation days do part-time employees get?") it does. The
rewritten query is used for retrieval only; the model still answers the user's own words
with the history beside them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from chatkb.llm import ChatModel, GenerationOptions
from chatkb.llm.prompts import is_chinese
from chatkb.models import Message

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
    log.info("query rewritten: %r -> %r", question, rewritten)
    return rewritten


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
