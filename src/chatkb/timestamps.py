"""The one timestamp format chatkb stores (catalog rows, kb.json, conversations)."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """Now in UTC as ISO 8601 to the second: sorts as text and reads back with
    ``datetime.fromisoformat``."""
    return datetime.now(UTC).isoformat(timespec="seconds")
