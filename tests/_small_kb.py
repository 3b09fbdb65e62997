"""A small real knowledge base (two dataset documents), embedded once and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from _datasets import doc
from chatkb.ingest import discover, ingest
from chatkb.kb import Library
from chatkb.settings import load_settings

DOCS = ("en_wiki_ibm.md", "en_utf8_war_and_peace_1p.txt")


def build_small_kb(root: Path, name: str = "small") -> Path:
    """Embed ``DOCS`` into ``root/home/kb/<name>`` (one thread) and return that folder."""
    folder = root / "docs"
    folder.mkdir()
    for file in DOCS:
        shutil.copy(doc(file), folder)
    settings = load_settings(home=root / "home", embedder={"threads": 1})
    kb = Library(settings).create(name)
    assert ingest(kb, discover([folder]), settings).failed == []
    return root / "home" / "kb" / name


def copy_into(home: Path, built: Path) -> None:
    if not built.exists():
        pytest.skip("small knowledge base could not be built")
    shutil.copytree(built, home / "kb" / built.name)
