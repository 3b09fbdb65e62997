"""The shared development datasets (``../shared/datasets``) and their manifest of facts."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import pytest


def datasets_dir() -> Path:
    """``<repo>/../shared/datasets``, or ``$CHATKB_DATASETS`` when that is set."""
    configured = os.environ.get("CHATKB_DATASETS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "datasets"


DOCS = datasets_dir() / "docs"


@dataclass(frozen=True)
class ManifestEntry:
    """One row of ``docs/MANIFEST.tsv``: a file and phrases its extracted text must hold."""

    file: str
    facts: tuple[str, ...]
    needs_ocr: bool
    encoding: str

    @property
    def path(self) -> Path:
        return DOCS / self.file


def manifest() -> list[ManifestEntry]:
    """Every manifest row, or an empty list when the datasets are not there."""
    path = DOCS / "MANIFEST.tsv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        ManifestEntry(
            file=row["file"],
            facts=tuple(fact.strip() for fact in row["facts"].split(" | ") if fact.strip()),
            needs_ocr=row["needs_ocr"].strip().lower() == "yes",
            encoding=row.get("encoding", "").strip(),
        )
        for row in rows
    ]


def doc(name: str) -> Path:
    """A dataset document by file name; skips the test when the datasets are missing."""
    path = DOCS / name
    if not path.exists():
        pytest.skip(f"dataset file {name} not found (set CHATKB_DATASETS)")
    return path


def squash(text: str) -> str:
    """``text`` without any whitespace, so facts match across line wraps and table cells."""
    return "".join(text.split())
