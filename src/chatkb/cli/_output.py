"""Terminal output helpers: JSON to stdout, messages and progress to stderr.

``err`` and ``out`` are rich consoles made at their first use: rich takes longer to import
than an unchanged ``chatkb add`` takes to check its files, and a command that prints only
plain lines or JSON never needs it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    err: Console
    out: Console


def __getattr__(name: str) -> Any:
    if name not in ("err", "out"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    console = (
        Console(stderr=True, highlight=False)
        if name == "err"
        else Console(highlight=False, soft_wrap=True)
    )
    globals()[name] = console  # later reads find it without coming here
    return console


def say(text: str) -> None:
    """A plain line on stderr (no markup), for messages that need no console."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
