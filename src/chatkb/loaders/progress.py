"""Progress a loader reports while it works, so that a long but healthy load is told apart
from a stuck one.

The loading worker (``_worker.py``) installs a hook that tells its parent; the parent's
per-file clock (``loading.timeout``) then starts again. A scan of many pages therefore gets
``loading.timeout`` per OCR'd page (and at most ``loading.max_ocr_pages`` pages), while a
parser that makes no progress still fails after ``loading.timeout``. Outside a worker the
hook does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

_hook: Callable[[], None] | None = None


def install(hook: Callable[[], None] | None) -> None:
    global _hook
    _hook = hook


def tick() -> None:
    """One unit of work is done (an image or a page OCR'd)."""
    if _hook is not None:
        _hook()
