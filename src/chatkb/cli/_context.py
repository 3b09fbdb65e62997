"""Settings and the library of knowledge bases, built lazily once per CLI invocation."""

from __future__ import annotations

import typer

from chatkb.kb import KnowledgeBase, Library
from chatkb.kb_names import split_names
from chatkb.settings import Settings, load_settings


class CliContext:
    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._library: Library | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def library(self) -> Library:
        if self._library is None:
            self._library = Library(self.settings)
        return self._library

    def close(self) -> None:
        if self._library is not None:
            self._library.close()

    def open_kbs(self, names: str) -> list[KnowledgeBase]:
        """``a,b`` opens two knowledge bases (searched together)."""
        return [self.library.open(name) for name in split_names(names)]


def cli_context(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
        root.call_on_close(root.obj.close)  # pools to remote stores end with the command
    return root.obj
