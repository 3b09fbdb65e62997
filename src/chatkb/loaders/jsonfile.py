"""JSON and JSON Lines: text fields with their keys, one block per record."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._encoding import decode_bytes
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

_ID_LIKE = re.compile(r"^[0-9a-fA-F-]{16,}$")  # hashes and UUIDs carry no searchable text
_MAX_DEPTH = 64


@register_loader(".json")
class JsonLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        try:
            data = json.loads(decode_bytes(path.read_bytes()))
        except json.JSONDecodeError as exc:
            raise LoadError(f"invalid JSON: {exc}") from None
        except RecursionError:
            raise LoadError("JSON is nested too deeply to read") from None
        records = data if isinstance(data, list) else [data]
        return LoadedDocument(tuple(record_blocks(records)), file_type="json")


@register_loader(".jsonl", ".ndjson")
class JsonLinesLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        records: list[object] = []
        for number, line in enumerate(decode_bytes(path.read_bytes()).splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LoadError(f"invalid JSON on line {number}: {exc}") from None
            except RecursionError:
                raise LoadError(f"JSON on line {number} is nested too deeply") from None
        return LoadedDocument(tuple(record_blocks(records)), file_type="jsonl")


def record_blocks(records: list[object]) -> list[Block]:
    blocks = ["\n".join(flatten(record)) for record in records]
    return [Block(text) for text in blocks if text]


def flatten(value: object, key: str = "", depth: int = 0) -> Iterator[str]:
    """``key: value`` lines for every non-empty scalar, keys joined with dots."""
    if depth > _MAX_DEPTH:
        raise LoadError("JSON is nested too deeply to read")
    if isinstance(value, dict):
        for name, item in value.items():
            yield from flatten(item, f"{key}.{name}" if key else str(name), depth + 1)
    elif isinstance(value, list):
        if all(_is_scalar(item) for item in value):
            text = ", ".join(_scalar(item) for item in value if _scalar(item))
            yield from _line(key, text)
        else:
            for index, item in enumerate(value):
                yield from flatten(item, f"{key}[{index}]", depth + 1)
    else:
        yield from _line(key, _scalar(value))


def _line(key: str, text: str) -> Iterator[str]:
    if text and not _ID_LIKE.match(text):
        yield f"{key}: {text}" if key else text


def _is_scalar(value: object) -> bool:
    return not isinstance(value, dict | list)


def _scalar(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()
