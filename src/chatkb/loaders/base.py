"""The Loader seam: one module per file format, registered by file extension."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from chatkb.models import LoadedDocument


@dataclass(frozen=True)
class LoaderOptions:
    """Limits and switches every loader receives (from ``Settings.loading``)."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_unpacked_bytes: int = 500 * 1024 * 1024
    ocr: bool = True
    ocr_image_share: float = 0.3
    max_ocr_pages: int = 200  # pages of one document that may be OCR'd
    max_pages: int = 10_000  # pages of one PDF
    zh_title_enhance: bool = False


class Loader(Protocol):
    """Reads one file into blocks of text.

    ``load`` must return a document with at least one non-empty block, or raise
    ``LoadError`` with a message that says what is wrong with the file (corrupt, encrypted,
    empty, wrong type). The dispatcher wraps any other exception into a ``LoadError`` too,
    so one bad file never stops a batch.
    """

    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument: ...
