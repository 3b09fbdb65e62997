"""Knowledge-base names: what a valid one is, and how a list of them is written.

A name is also a folder under the library root and a path segment in the API, so it is kept
to letters, digits, ``_``, ``-`` and ``.``, starts with a letter or digit (no ``..``, no
hidden folders) and is at most 64 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chatkb.errors import InvalidInputError

NAME_PATTERN = r"^[\w][\w.\-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


def is_valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def check_name(name: str) -> None:
    if not is_valid_name(name):
        raise InvalidInputError(
            f"invalid knowledge base name {name!r}: use up to 64 letters, digits, '_', '-' or "
            "'.', starting with a letter or digit"
        )


def split_names(names: str | Iterable[str]) -> list[str]:
    """``"a, b"`` or ``["a,b", "c"]`` as ``["a", "b", "c"]``: each item may hold several
    comma-separated names; blanks and repeats are dropped, the first order kept."""
    items = [names] if isinstance(names, str) else names
    split = (n.strip() for item in items for n in item.split(","))
    return list(dict.fromkeys(n for n in split if n))
