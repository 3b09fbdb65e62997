"""Reading a Langchain-Chatchat knowledge-base root, as Chatchat's own models define it.

Chatchat 0.2.x keeps ``KB_ROOT_PATH = <project>/knowledge_base`` and 0.3.x
``<CHATCHAT_ROOT>/data/knowledge_base``; both hold ``info.db`` (SQLite: tables
``knowledge_base`` with ``kb_name``/``kb_info`` and ``knowledge_file`` with ``kb_name``/
``file_name``) and one folder per knowledge base whose ``content/`` holds the originals,
``file_name`` being the posix path relative to ``content/``. The two versions share that
schema. Chatchat matches ``kb_name`` case-insensitively (``ilike``); so does this reader.
"""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from chatkb.errors import InvalidInputError, NotFoundError
from chatkb.kb_names import is_valid_name

INFO_DB = "info.db"
CONTENT = "content"
# Chatchat's list_files_from_folder skips names starting with these (temporary files).
_SKIPPED_PREFIXES = ("temp", "tmp", ".", "~$")
_INVALID_RUN = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class ChatchatFile:
    """One original: ``source`` is Chatchat's ``file_name``; ``path`` None when it would
    leave ``content/`` (a hostile row)."""

    source: str
    path: Path | None
    listed: bool  # in info.db's knowledge_file table


@dataclass
class ChatchatKB:
    chatchat_name: str
    description: str
    folder: Path
    in_info_db: bool
    files: list[ChatchatFile] = field(default_factory=list)


@dataclass
class ChatchatRoot:
    root: Path
    has_info_db: bool
    knowledge_bases: list[ChatchatKB]


def find_root(path: Path) -> Path:
    """The knowledge-base root for ``path``: the root itself, a 0.2 project folder (holding
    ``knowledge_base/``) or a 0.3 CHATCHAT_ROOT (holding ``data/knowledge_base/``)."""
    if not path.is_dir():
        raise NotFoundError(f"no such folder: {path}")
    for candidate in (path / "data" / "knowledge_base", path / "knowledge_base"):
        if (candidate / INFO_DB).is_file():
            return candidate
    if (path / INFO_DB).is_file() or any((p / CONTENT).is_dir() for p in _subfolders(path)):
        return path
    raise NotFoundError(
        f"{path} is not a Chatchat knowledge-base root: expected {INFO_DB} and one folder per "
        "knowledge base with a content/ folder (0.2: <project>/knowledge_base, "
        "0.3: <CHATCHAT_ROOT>/data/knowledge_base)"
    )


def read_root(path: Path) -> ChatchatRoot:
    """Every knowledge base of the root: those info.db lists, then folders it does not."""
    root = find_root(path)
    db = root / INFO_DB
    rows, listed = _read_info_db(db) if db.is_file() else ([], {})
    kbs: list[ChatchatKB] = []
    seen: set[str] = set()
    for name, info in rows:
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        kbs.append(ChatchatKB(name, info, _kb_folder(root, name), True))
    for folder in _subfolders(root):
        if folder.name.lower() not in seen and (folder / CONTENT).is_dir():
            seen.add(folder.name.lower())
            kbs.append(ChatchatKB(folder.name, "", folder, False))
    for kb in kbs:
        kb.files = _files(kb, listed.get(kb.chatchat_name.lower()))
    return ChatchatRoot(root, db.is_file(), kbs)


def chatkb_name(chatchat_name: str) -> str:
    """The chatkb name a Chatchat name maps to: the same when valid; else each run of other
    characters becomes ``_``, leading ``.``/``-``/``_`` are dropped, 64 characters kept."""
    name = unicodedata.normalize("NFC", chatchat_name.strip())
    if is_valid_name(name):
        return name
    mapped = _INVALID_RUN.sub("_", name).lstrip("._-")[:64].rstrip("._-")
    if not is_valid_name(mapped):
        raise InvalidInputError(
            f"Chatchat knowledge base {chatchat_name!r} has no usable chatkb name; "
            "give one with --rename 'OLD=NEW'"
        )
    return mapped


def _read_info_db(db: Path) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """(kb_name, kb_info) rows in id order, and each KB's file names (lower-cased key)."""
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            kbs = con.execute(
                "SELECT kb_name, COALESCE(kb_info, '') FROM knowledge_base ORDER BY id"
            ).fetchall()
            files = con.execute(
                "SELECT kb_name, file_name FROM knowledge_file ORDER BY id"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InvalidInputError(
            f"cannot read {db}: {exc} (it must be Chatchat's SQLite info.db; a MySQL or "
            "PostgreSQL SQLALCHEMY_DATABASE_URI is not read: copy the tables to SQLite first)"
        ) from None
    listed: dict[str, list[str]] = {}
    for kb_name, file_name in files:
        if kb_name and file_name:
            listed.setdefault(str(kb_name).lower(), []).append(str(file_name))
    return [(str(n), str(i)) for n, i in kbs if n], listed


def _kb_folder(root: Path, name: str) -> Path:
    """The KB's folder; Chatchat looks names up case-insensitively, the disk may not."""
    exact = root / name
    if exact.is_dir():
        return exact
    for folder in _subfolders(root):
        if folder.name.lower() == name.lower():
            return folder
    return exact


def _files(kb: ChatchatKB, listed: list[str] | None) -> list[ChatchatFile]:
    """info.db's files for the KB (in its order), then files on disk it does not list."""
    content = (kb.folder / CONTENT).absolute()
    files: list[ChatchatFile] = []
    names: set[str] = set()
    for name in listed or []:
        source = name.replace("\\", "/")
        if source in names:
            continue
        names.add(source)
        # Lexically, not resolved: a row may not climb out with "..", but symbolic links the
        # user put under content/ are followed, as Chatchat follows them.
        target = Path(os.path.normpath(content / source))
        inside = target.is_relative_to(content) and target != content
        files.append(ChatchatFile(source, target if inside else None, True))
    for source in _on_disk(content):
        if source not in names:
            files.append(ChatchatFile(source, content / source, False))
    return files


def _on_disk(content: Path) -> list[str]:
    """Chatchat's list_files_from_folder: posix paths under content/, temp files skipped."""
    if not content.is_dir():
        return []
    found: list[str] = []
    for file in sorted(content.rglob("*")):
        relative = file.relative_to(content)
        skipped = any(p.lower().startswith(_SKIPPED_PREFIXES) for p in relative.parts)
        if file.is_file() and not skipped:
            found.append(relative.as_posix())
    return found


def _subfolders(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
