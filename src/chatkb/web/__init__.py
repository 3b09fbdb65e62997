"""The browser interface: static files only (ES modules + CSS), served by the server at ``/``.

Nothing here is built or fetched at run time; the server mounts ``static_dir()`` as is.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["static_dir"]


def static_dir() -> Path:
    """The folder holding ``index.html`` and its assets, inside the installed package."""
    return Path(__file__).resolve().parent / "static"
