"""Loaders that misbehave on purpose, to test the per-file loading budget.

Imported by the test and, through the loader's module name, by the worker processes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from chatkb.loaders import register_loader
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument


@register_loader(".slowtest")
class SlowLoader:
    """Never finishes: a parser stuck in a loop."""

    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        while True:
            time.sleep(0.01)


@register_loader(".hogtest")
class HogLoader:
    """Asks for memory until the budget says no (a decompression bomb)."""

    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        hoard = [bytearray(64 * 1024 * 1024) for _ in range(256)]  # 16 GiB
        return LoadedDocument((Block(str(len(hoard))),), file_type="hogtest")


@register_loader(".crashtest")
class CrashLoader:
    """Dies in native code (a segfaulting library)."""

    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        os.abort()


@register_loader(".progresstest")
class ProgressingLoader:
    """A long scan: as many pages as the file says, a quarter second each, reporting each."""

    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        from chatkb.loaders import progress

        pages = int(path.read_text())
        for _ in range(pages):
            time.sleep(0.25)
            progress.tick()
        return LoadedDocument((Block(f"{pages} pages read"),), file_type="progresstest")
