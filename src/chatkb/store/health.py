"""Can each configured store be reached? For ``/api/health`` and ``chatkb doctor``.

The configured stores are ``store.backend`` and every backend a knowledge base records in
its ``kb.json``; each is asked once through ``StoreBackend.check()``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from chatkb.errors import ChatkbError

if TYPE_CHECKING:
    from chatkb.kb import Library

# /api/health is polled (container health checks): a server that is down is asked again
# only after this long, so polling never piles up connection timeouts.
HEALTH_TTL_S = 15.0


@dataclass(frozen=True)
class StoreCheck:
    backend: str
    reachable: bool
    where: str  # the redacted URI, or what the embedded store is
    knowledge_bases: int  # how many record this backend
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def configured_backends(library: Library) -> Counter[str]:
    """Backend name → knowledge bases on it; the default backend counts even with none."""
    found: Counter[str] = Counter({library.settings.store.backend: 0})
    for name in library.names():
        try:
            found[library.open(name).location.backend] += 1
        except ChatkbError:  # a kb.json being rewritten or removed right now
            continue
    return found


def check_stores(library: Library) -> list[StoreCheck]:
    checks = []
    for backend, count in sorted(configured_backends(library).items()):
        try:
            where = library.backend(backend).check()
        except ChatkbError as exc:
            checks.append(StoreCheck(backend, False, "", count, exc.message))
        else:
            checks.append(StoreCheck(backend, True, where, count))
    return checks


class StoreHealth:
    """``check_stores`` remembered for ``HEALTH_TTL_S`` seconds."""

    def __init__(self, ttl: float = HEALTH_TTL_S) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._checked: tuple[float, list[StoreCheck]] | None = None

    def get(self, library: Library) -> list[StoreCheck]:
        with self._lock:
            now = time.monotonic()
            if self._checked is None or now - self._checked[0] > self.ttl:
                self._checked = (now, check_stores(library))
            return self._checked[1]
