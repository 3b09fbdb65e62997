"""Metadata filters for search: source path glob, file type, date added.

``chatkb search NAME "q" --filter source='policies/*' --filter type=pdf,docx
--filter after=2024-01-01 --filter before=2024-07-01``. A chunk passes when its document
passes every given condition. Dates compare with the document's ``added_at`` (UTC);
``after`` is inclusive, ``before`` exclusive.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from chatkb.errors import InvalidInputError
from chatkb.store.base import DocumentRecord

_KEYS = ("source", "type", "after", "before")


@dataclass(frozen=True)
class SearchFilter:
    source: str | None = None
    file_types: tuple[str, ...] = ()
    added_after: datetime | None = None
    added_before: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.source or self.file_types or self.added_after or self.added_before)

    def accepts(self, document: DocumentRecord) -> bool:
        if self.source and not _glob(document.source, self.source):
            return False
        if self.file_types and document.file_type.lower() not in self.file_types:
            return False
        added = _parse_time(document.added_at)
        if self.added_after and added < self.added_after:
            return False
        return not (self.added_before and added >= self.added_before)


def _glob(source: str, pattern: str) -> bool:
    # "*.pdf" should match "reports/q1.pdf" too, as a user typing it expects.
    name = source.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(source, pattern) or (
        "/" not in pattern and fnmatch.fnmatchcase(name, pattern)
    )


def parse_filters(expressions: Sequence[str]) -> SearchFilter:
    """``key=value`` expressions (source, type, after, before) into one filter."""
    fields: dict[str, object] = {}
    for expression in expressions:
        key, equals, value = expression.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not equals or key not in _KEYS or not value:
            raise InvalidInputError(
                f"bad filter {expression!r}: use source=GLOB, type=pdf,docx, "
                "after=YYYY-MM-DD or before=YYYY-MM-DD"
            )
        if key == "source":
            fields["source"] = value
        elif key == "type":
            types = (t.strip().lower().lstrip(".") for t in value.split(","))
            fields["file_types"] = tuple(t for t in types if t)
        else:
            fields[f"added_{key}"] = _parse_date(value, key)
    return SearchFilter(**fields)  # type: ignore[arg-type]


def _parse_date(value: str, key: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"filter {key}={value!r}: not a date; use YYYY-MM-DD or an ISO time"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(date.min, datetime.min.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
