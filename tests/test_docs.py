"""Docs stay true: every setting and every CLI command is documented."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

from chatkb.cli.main import app
from chatkb.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _keys(section: type, prefix: str = "") -> list[str]:
    keys = []
    annotations = typing.get_type_hints(section)
    for spec in dataclasses.fields(section):
        annotation = annotations[spec.name]
        if dataclasses.is_dataclass(annotation):
            keys.extend(_keys(annotation, f"{prefix}{spec.name}."))
        else:
            keys.append(prefix + spec.name)
    return keys


def test_every_setting_is_documented() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [key for key in _keys(Settings) if f"`{key}`" not in page]
    assert missing == []


def test_every_cli_command_is_documented() -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = [f"chatkb {c.name}" for c in app.registered_commands]
    commands += [
        f"chatkb {group.name} {c.name}"
        for group in app.registered_groups
        if group.typer_instance is not None
        for c in group.typer_instance.registered_commands
    ]
    missing = [c for c in commands if f"`{c}" not in page]
    assert missing == []
