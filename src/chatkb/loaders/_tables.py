"""Rendering rows of cells as Markdown tables, split into blocks that each repeat the header."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatkb.models import Block

_SPACE = re.compile(r"\s+")

# A table block stays below this size (unless one row alone is bigger), so the splitter
# keeps it whole in one chunk (the default chunk is 600 characters) and every chunk of a
# long table starts with its header row: a row is only understandable under its header.
MAX_TABLE_CHARS = 500


def cell_text(value: object) -> str:
    """One cell as a single Markdown-safe line: whitespace collapsed, pipes escaped."""
    if value is None:
        return ""
    text = _SPACE.sub(" ", str(value)).strip()
    return text.replace("|", "\\|")


def clean_rows(rows: Sequence[Sequence[object]]) -> list[list[str]]:
    """Cells as text; empty rows and columns dropped; short rows padded to the widest."""
    grid = [[cell_text(cell) for cell in row] for row in rows]
    grid = [row for row in grid if any(row)]
    width = max((len(row) for row in grid), default=0)
    grid = [row + [""] * (width - len(row)) for row in grid]
    keep = [col for col in range(width) if any(row[col] for row in grid)]
    return [[row[col] for col in keep] for row in grid]


def _line(row: Sequence[str]) -> str:
    return "| " + " | ".join(row) + " |"


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """``rows[0]`` is the header; a ``|---|`` separator follows it."""
    header, *body = rows
    separator = "|" + "|".join("---" for _ in header) + "|"
    return "\n".join([_line(header), separator, *(_line(row) for row in body)])


def table_blocks(
    rows: Sequence[Sequence[object]],
    *,
    page: int | None = None,
    max_chars: int = MAX_TABLE_CHARS,
) -> list[Block]:
    """Markdown table blocks of at most ``max_chars``, each starting with the header row.

    A table with a single row or column is not a table to a reader: it comes out as
    plain paragraphs instead.
    """
    grid = clean_rows(rows)
    if not grid:
        return []
    if len(grid) == 1 or len(grid[0]) == 1:
        text = "\n".join(" ".join(cell for cell in row if cell) for row in grid)
        return [Block(text, page=page)]
    header, body = grid[0], grid[1:]
    blocks: list[Block] = []
    group: list[list[str]] = []
    size = len(_line(header)) * 2
    for row in body:
        row_size = len(_line(row)) + 1
        if group and size + row_size > max_chars:
            blocks.append(Block(markdown_table([header, *group]), "table", page=page))
            group, size = [], len(_line(header)) * 2
        group.append(row)
        size += row_size
    blocks.append(Block(markdown_table([header, *group]), "table", page=page))
    return blocks
