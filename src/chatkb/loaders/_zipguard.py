"""Refusing zip bombs before an Office or EPUB library unpacks them.

Python's ``zipfile`` never inflates a member past its declared size, so checking the
declared sizes (total, and each member's compression ratio) bounds what the libraries
that open the file afterwards can unpack.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from chatkb.errors import LoadError
from chatkb.loaders.base import LoaderOptions

MAX_RATIO = 200  # deflate tops out near 1000:1 on runs of one byte; real documents stay far below
_RATIO_FLOOR = 10 * 1024 * 1024  # small members may compress well; only big ones are judged
_MAX_MEMBERS = 100_000
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # encrypted OOXML is stored in an OLE file


def check_zip(path: Path, options: LoaderOptions, *, kind: str) -> None:
    """Raise ``LoadError`` when ``path`` is not a zip container or would unpack too much."""
    with path.open("rb") as handle:
        if handle.read(8) == _OLE_MAGIC:
            raise LoadError(
                f"not a {kind} zip container but an OLE file: the document is password-"
                "protected, or an old binary format (.doc/.xls/.ppt) renamed; save it again"
            )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise LoadError(f"not a valid {kind} file (corrupt or truncated zip: {exc})") from None
    if len(members) > _MAX_MEMBERS:
        raise LoadError(f"{kind} file holds {len(members)} parts; refusing it as a zip bomb")
    total = sum(member.file_size for member in members)
    if total > options.max_unpacked_bytes:
        mib, limit = total // 2**20, options.max_unpacked_bytes // 2**20
        raise LoadError(f"zip bomb: {kind} file would unpack to {mib} MiB (limit {limit} MiB)")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR and ratio > MAX_RATIO:
            raise LoadError(
                f"zip bomb: {kind} part {member.filename!r} is compressed {ratio:.0f}:1"
            )
