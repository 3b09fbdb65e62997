"""Uploaded originals: safe names, size limits, and where they live (``<kb>/files/``).

Names keep their Unicode and folder structure (``政策/请假.md``) but can never leave the
knowledge base's files folder: ``..``, absolute paths, drive letters, control characters
and hidden-file dots are neutralised.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO

from chatkb.errors import InvalidInputError, NotFoundError, PayloadTooLargeError
from chatkb.kb import KnowledgeBase

FILES_DIR = "files"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_MAX_PART = 200
_COPY_CHUNK = 1024 * 1024


def sanitise_name(name: str) -> str:
    """A relative POSIX path that is safe to create under a files folder."""
    name = unicodedata.normalize("NFC", name or "")
    parts = []
    for raw in re.split(r"[\\/]+", name):
        part = _UNSAFE.sub("_", raw).strip().rstrip(".")
        if part in ("", ".", ".."):
            continue
        if part.startswith("."):
            part = "_" + part[1:]
        parts.append(_shorten(part))
    if not parts:
        raise InvalidInputError(f"unusable file name {name!r}; give the file a name")
    return "/".join(parts)


def _shorten(part: str) -> str:
    if len(part.encode("utf-8")) <= _MAX_PART:
        return part
    stem, dot, ext = part.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = part, ""
    while len((stem + "." + ext).encode("utf-8")) > _MAX_PART:
        stem = stem[:-1]
    return f"{stem}.{ext}" if ext else stem


def document_name(kb: KnowledgeBase, source: str) -> str:
    """The one name a request's ``source`` stands for: the document of exactly that name,
    else its canonical form (``./x.txt``, ``x.txt/`` and ``a//x.txt`` name ``x.txt`` and
    ``a/x.txt``), so an alias can neither add a duplicate nor delete another's original."""
    if kb.find_document(source) is not None:
        return source
    return sanitise_name(source)


def files_dir(kb: KnowledgeBase) -> Path:
    return kb.directory / FILES_DIR


def stored_path(kb: KnowledgeBase, source: str) -> Path:
    """Where the original of ``source`` is (or would be) kept; never outside the folder."""
    root = files_dir(kb).resolve()
    path = (root / sanitise_name(source)).resolve()
    if root not in path.parents:
        raise InvalidInputError(f"invalid document name {source!r}")
    return path


def save_upload(kb: KnowledgeBase, name: str, data: BinaryIO, max_bytes: int) -> str:
    """Copy an upload into the files folder (write beside, then rename); returns its source."""
    source = sanitise_name(name)
    target = stored_path(kb, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    size = 0
    try:
        with partial.open("wb") as out:
            while chunk := data.read(_COPY_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLargeError(
                        f"{source} is larger than the upload limit of {max_bytes // 2**20} MB "
                        "(server.max_upload_mb)"
                    )
                out.write(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return source


def original_path(kb: KnowledgeBase, source: str) -> Path:
    """The original file of a document: the uploaded copy, else the path it was added from."""
    path = stored_path(kb, source)
    if path.is_file():
        return path
    record = kb.find_document(source)
    if record is not None and Path(record.path).is_file():
        return Path(record.path)
    raise NotFoundError(f"no original file for {source!r} in knowledge base {kb.name!r}")


def delete_original(kb: KnowledgeBase, source: str) -> bool:
    path = stored_path(kb, source)
    if not path.is_file():
        return False
    path.unlink()
    root = files_dir(kb).resolve()
    for parent in path.parents:  # drop folders the upload created, now empty
        if parent == root or not parent.is_relative_to(root) or any(parent.iterdir()):
            break
        parent.rmdir()
    return True


def stored_sources(kb: KnowledgeBase) -> list[str]:
    root = files_dir(kb)
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
