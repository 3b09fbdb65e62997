"""Hostile files made at test time (nothing binary is committed): ``generate(folder, ...)``.

Each kind is a small function returning ``(name, bytes, expectation)``. ``FAIL`` files must
fail alone with a reason (optionally matching a pattern); ``ANY`` files (truncated copies,
wrong extensions) may go in or fail, but must not hang, crash the run, or take another file
down; ``GOOD`` files (hostile names, odd but valid content) must go in.
"""

from __future__ import annotations

from pathlib import Path

from hostile import archives, documents, media, names, text
from hostile._base import ANY, FAIL, GOOD, Hostile


def all_kinds(datasets_docs: Path, secret: Path) -> list[Hostile]:
    """Every hostile file; ``secret`` is a file an external XML entity tries to pull in."""
    made = [
        *archives.kinds(secret, datasets_docs),
        *documents.kinds(),
        *media.kinds(),
        *text.kinds(),
        *names.kinds(),
        *names.truncated_copies(datasets_docs),
        *names.wrong_extensions(datasets_docs),
    ]
    seen: set[str] = set()
    for item in made:
        assert item.name not in seen, item.name
        seen.add(item.name)
    return made


def generate(folder: Path, datasets_docs: Path, secret: Path) -> dict[str, Hostile]:
    """Write every hostile file into ``folder``; returns them by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for item in all_kinds(datasets_docs, secret):
        (folder / item.name).write_bytes(item.data)
        made[item.name] = item
    return made


__all__ = ["ANY", "FAIL", "GOOD", "Hostile", "all_kinds", "generate"]
