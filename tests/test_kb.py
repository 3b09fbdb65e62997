"""Knowledge bases on disk: names, recorded settings, the embedder-mismatch rule, deletion."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatkb.errors import (
    AlreadyExistsError,
    EmbedderMismatchError,
    InvalidInputError,
    NotFoundError,
)
from chatkb.kb import KBConfig, Library, write_config
from chatkb.settings import Settings


def test_create_records_settings_and_lists(library: Library) -> None:
    kb = library.create("手册-v1", description="d", chunk_size=300, chunk_overlap=30)
    assert library.names() == ["手册-v1"]
    reopened = Library(library.settings).open("手册-v1")
    assert reopened.config == kb.config
    assert (reopened.config.chunk_size, reopened.config.embedder, reopened.config.dim) == (
        300,
        "e5-small-onnx",
        384,
    )


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "x" * 65])
def test_bad_names_are_refused(library: Library, name: str) -> None:
    with pytest.raises(InvalidInputError):
        library.create(name)


def test_duplicates_missing_and_bad_chunking(library: Library) -> None:
    library.create("a")
    with pytest.raises(AlreadyExistsError):
        library.create("a")
    with pytest.raises(NotFoundError, match="existing: a"):
        library.open("b")
    with pytest.raises(InvalidInputError, match="overlap"):
        library.create("c", chunk_size=100, chunk_overlap=100)


def test_embedder_dimension_mismatch_is_an_error(library: Library) -> None:
    kb = library.create("a")
    write_config(kb.directory, KBConfig(**{**kb.config.to_json(), "dim": 768}))  # type: ignore[arg-type]
    fresh = Library(library.settings).open("a")
    with pytest.raises(EmbedderMismatchError, match="768-d vectors"):
        fresh.embedder()


def test_delete_removes_everything(library: Library, settings: Settings) -> None:
    kb = library.create("a")
    directory = kb.directory
    library.delete("a")
    assert not directory.exists()
    assert library.names() == []
    assert not any(Path(settings.kb_root).iterdir())
