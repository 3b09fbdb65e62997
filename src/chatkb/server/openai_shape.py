"""What ``/v1`` does to a ``kb:`` answer on its way out: ``stop`` and ``max_tokens`` applied to
the streamed text, token usage, the "Sources:" footer, and citations with ``kb`` and ``url``.

``stop`` is cut here, on the text, so it holds for every answerer (the extractive one has no
server to pass it to). Token counts are chatkb's own (a CJK character or a word or a mark each
count one), because the answer stream carries text only; they are close to, not equal to, the
model's tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence

from chatkb.answer import AnswerStream
from chatkb.kb import KnowledgeBase
from chatkb.models import Message
from chatkb.server.answers import cited_json
from chatkb.text import CJK_LETTERS

_TOKEN = re.compile(rf"[{CJK_LETTERS}]|\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


class Shaped:
    """Iterate for the answer's pieces with ``stop`` and ``max_tokens`` applied; afterwards
    ``text`` is what was sent and ``finish_reason`` is ``stop`` or ``length``."""

    def __init__(
        self, stream: AnswerStream, stops: Sequence[str] = (), max_tokens: int | None = None
    ) -> None:
        self.stream = stream
        self.stops = [s for s in stops if s]
        self.max_tokens = max_tokens
        self.text = ""
        self.finish_reason = "stop"

    def __iter__(self) -> Iterator[str]:
        # Held back: the tail that could still begin a stop sequence.
        keep = max((len(s) for s in self.stops), default=1) - 1
        pending = ""
        pieces = iter(self.stream)
        try:
            for piece in pieces:
                pending += piece
                cut = self._stop_at(pending)
                if cut is not None:
                    yield from self._emit(pending[:cut])
                    return
                ready, pending = pending[: len(pending) - keep], pending[len(pending) - keep :]
                if not (yield from self._emit(ready)):
                    return
            yield from self._emit(pending)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # stops the model's generation when cut short

    def _stop_at(self, text: str) -> int | None:
        found = [text.find(s) for s in self.stops if s in text]
        return min(found) if found else None

    def _emit(self, text: str) -> Generator[str, None, bool]:
        """Yields ``text`` (truncated at the token limit); returns False when the limit hit."""
        if not text:
            return True
        if self.max_tokens is not None:
            left = self.max_tokens - count_tokens(self.text)
            if count_tokens(text) > left:
                text = _first_tokens(text, left)
                self.finish_reason = "length"
                self.text += text
                if text:
                    yield text
                return False
        self.text += text
        yield text
        return True


def _first_tokens(text: str, n: int) -> str:
    if n <= 0:
        return ""
    matches = list(_TOKEN.finditer(text))
    return text[: matches[n - 1].end()] if len(matches) >= n else text


def usage(
    question: str, history: Sequence[Message], stream: AnswerStream, answer: str
) -> dict[str, int]:
    """The model server's own counts when it reported them; else counted: the question, the
    history and the retrieved passages in, the answer out."""
    reported = stream.reported_usage
    if reported is not None:
        return reported.to_json()
    prompt = count_tokens(question) + sum(count_tokens(m.content) for m in history)
    prompt += sum(count_tokens(h.text) for h in stream.hits)
    completion = count_tokens(answer)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def citations(
    stream: AnswerStream, text: str, kbs: Sequence[KnowledgeBase]
) -> list[dict[str, object]]:
    """The passages ``text`` cites, each with its ``kb`` and original file's ``url``."""
    return cited_json(stream.citations(text), stream, kbs)


def footer(cited: Sequence[dict[str, object]]) -> str:
    """ "Sources:" with each cited file once: its citation numbers and pages."""
    if not cited:
        return ""
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    for c in cited:
        numbers, pages = grouped.setdefault(str(c["source"]), ([], []))
        numbers.append(str(c["n"]))
        if c.get("page") and str(c["page"]) not in pages:
            pages.append(str(c["page"]))
    lines = []
    for source, (numbers, pages) in grouped.items():
        where = source + (f", p. {', '.join(pages)}" if pages else "")
        lines.append(f"[{', '.join(numbers)}] {where}")
    return "\n\nSources:\n" + "\n".join(lines)
