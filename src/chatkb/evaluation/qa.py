"""QA files: one JSON object per line with ``id``, ``question``, ``answers`` and ``doc_id``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chatkb.errors import InvalidInputError, NotFoundError


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_id: str | None = None


def load_qa(path: Path) -> list[QAItem]:
    """Read a QA file (lines as in ``../shared/datasets/*/qa.jsonl``); blank lines skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise NotFoundError(f"QA file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read QA file {path}: {exc}") from None
    items = [_item(path, number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not items:
        raise InvalidInputError(f"{path} holds no questions")
    return items


def _item(path: Path, number: int, line: str) -> QAItem:
    try:
        row = json.loads(line)
        answers = row.get("answers", [])
        if isinstance(answers, str):
            answers = [answers]
        doc_id = row.get("doc_id")
        return QAItem(
            id=str(row.get("id", number)),
            question=str(row["question"]),
            answers=tuple(str(a) for a in answers),
            doc_id=None if doc_id is None else str(doc_id),
        )
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInputError(
            f'{path}:{number}: not a QA line, expected {{"id", "question", "answers", '
            f'"doc_id"}} ({exc})'
        ) from None
