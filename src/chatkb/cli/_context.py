"""Settings and the library of knowledge bases, built lazily once per CLI invocation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from chatkb.kb import KnowledgeBase, Library
    from chatkb.settings import Settings


class CliContext:
    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._library: Library | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from chatkb.settings import load_settings  # at the first command that needs them

            self._settings = load_settings()
        return self._settings

    @property
    def library(self) -> Library:
        if self._library is None:
            from chatkb.kb import Library

            self._library = Library(self.settings)
        return self._library

    def close(self) -> None:
        if self._library is not None:
            self._library.close()

    def open_kbs(self, names: str) -> list[KnowledgeBase]:
        """``a,b`` opens two knowledge bases (searched together)."""
        from chatkb.kb_names import split_names

        return [self.library.open(name) for name in split_names(names)]


def cli_context(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        root.obj = CliContext()
        root.call_on_close(root.obj.close)  # pools to remote stores end with the command
    return root.obj
