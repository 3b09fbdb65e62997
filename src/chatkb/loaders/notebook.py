"""Jupyter notebooks (.ipynb): Markdown cells with their headings, code cells as code."""

from __future__ import annotations

import json
from pathlib import Path

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._encoding import decode_bytes
from chatkb.loaders.base import LoaderOptions
from chatkb.loaders.text import markdown_blocks
from chatkb.models import Block, LoadedDocument

_MAX_OUTPUT_CHARS = 2000  # text outputs beyond this are logs, not content


@register_loader(".ipynb")
class NotebookLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        try:
            notebook = json.loads(decode_bytes(path.read_bytes()))
        except json.JSONDecodeError as exc:
            raise LoadError(f"not a Jupyter notebook (invalid JSON: {exc})") from None
        except RecursionError:
            raise LoadError("not a Jupyter notebook (JSON nested too deeply to read)") from None
        cells = notebook.get("cells") if isinstance(notebook, dict) else None
        if not isinstance(cells, list):
            raise LoadError("not a Jupyter notebook (no 'cells' list)")
        blocks: list[Block] = []
        for cell in cells:
            if isinstance(cell, dict):
                blocks.extend(cell_blocks(cell))
        title = next((b.text for b in blocks if b.kind == "heading"), None)
        return LoadedDocument(tuple(blocks), file_type="ipynb", title=title)


def _source(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def cell_blocks(cell: dict[str, object]) -> list[Block]:
    source = _source(cell.get("source")).strip()
    if not source:
        return []
    if cell.get("cell_type") == "markdown":
        return markdown_blocks(source)
    if cell.get("cell_type") != "code":
        return [Block(source)]
    blocks = [Block(source, "code")]
    outputs = cell.get("outputs")
    for output in outputs if isinstance(outputs, list) else []:
        text = _source(output.get("text")) if isinstance(output, dict) else ""
        if text.strip() and len(text) <= _MAX_OUTPUT_CHARS:
            blocks.append(Block(text.strip(), "code"))
    return blocks
