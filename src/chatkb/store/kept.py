"""Values derived from a store's contents, kept until its next write.

A store's ``revision`` moves with every write it commits, in any process. What a search
derives from the whole knowledge base (the document list, each script's documents and their
chunk keys) is computed once per revision instead of at every search. A backend without a
revision (None) keeps nothing: every call computes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, cast

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class KeptUntilWrite(Generic[K]):
    """Up to ``most`` values by key, each valid for the revision it was computed at."""

    def __init__(self, most: int) -> None:
        self._most = most
        self._values: dict[K, tuple[int, object]] = {}

    def get(self, revision: int | None, key: K, compute: Callable[[], T]) -> T:
        """The value kept under ``key`` if it was computed at ``revision``, else
        ``compute()`` (kept from then on). The caller reads the revision before the contents:
        a write in between leaves the value stale for the next revision, never current."""
        if revision is None:
            return compute()
        found = self._values.get(key)
        if found is not None and found[0] == revision:
            return cast(T, found[1])
        value = compute()
        if len(self._values) >= self._most and key not in self._values:
            self._values.clear()
        self._values[key] = (revision, value)
        return value
