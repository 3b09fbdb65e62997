"""``embedder.threads`` 0: every core for a command, one fewer for a server; a set count wins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatkb.cli._context import CliContext
from chatkb.embedders import resolve_threads
from chatkb.server.state import ServerState
from chatkb.settings import load_settings


@pytest.mark.parametrize(("cores", "command", "server"), [(1, 1, 1), (2, 2, 1), (8, 8, 7)], ids=str)
def test_zero_means_every_core_for_a_command_and_one_fewer_for_a_server(
    monkeypatch: pytest.MonkeyPatch, cores: int, command: int, server: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert resolve_threads(0) == command
    assert resolve_threads(0, serving=True) == server
    assert resolve_threads(3) == resolve_threads(3, serving=True) == 3


def _threads(home: Path) -> tuple[int, int, int]:
    """The threads the embedder of ``chatkb add`` (the command line's library), of
    ``chatkb serve`` and of its file chat would run on, from the settings as loaded."""
    context = CliContext()
    state = ServerState(load_settings())
    try:
        embedder = context.library.embedder("e5-small-onnx")
        assert embedder.threads == context.library.embedder_settings().threads  # type: ignore[attr-defined]
        return (
            embedder.threads,  # type: ignore[attr-defined]
            state.library.embedder_settings().threads,
            state.temp_library.embedder_settings().threads,
        )
    finally:
        state.close()
        context.close()


def test_each_entry_point_resolves_its_own_count(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cores = os.cpu_count() or 1
    monkeypatch.setenv("CHATKB_EMBEDDER__THREADS", "0")
    assert _threads(home) == (cores, max(1, cores - 1), max(1, cores - 1))

    monkeypatch.setenv("CHATKB_EMBEDDER__THREADS", "3")
    assert _threads(home) == (3, 3, 3), "an explicit embedder.threads always wins"
