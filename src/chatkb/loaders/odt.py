"""OpenDocument text (.odt) through odfpy: headings with outline levels, lists, tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._tables import table_blocks
from chatkb.loaders._zipguard import check_zip
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


@register_loader(".odt")
class OdtLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        check_zip(path, options, kind="ODT")
        from odf.opendocument import load  # type: ignore[import-untyped]

        try:
            document = load(str(path))
        except (KeyError, ValueError) as exc:
            raise LoadError(f"not a readable OpenDocument text: {exc}") from None
        blocks = element_blocks(document.text)
        title = next((b.text for b in blocks if b.kind == "heading"), None)
        return LoadedDocument(tuple(blocks), file_type="odt", title=title)


def _text(element: Any) -> str:
    from odf import teletype  # type: ignore[import-untyped]

    return " ".join(str(teletype.extractText(element)).split())


def element_blocks(parent: Any, depth: int = 0) -> list[Block]:
    blocks: list[Block] = []
    for child in parent.childNodes:
        qname = getattr(child, "qname", None)
        if qname == (_TEXT_NS, "h"):
            level = child.getAttrNS(_TEXT_NS, "outline-level") or "1"
            if text := _text(child):
                blocks.append(Block(text, "heading", level=int(level)))
        elif qname == (_TEXT_NS, "p"):
            if text := _text(child):
                blocks.append(Block(text))
        elif qname == (_TEXT_NS, "list"):
            blocks.extend(_list_blocks(child, depth))
        elif qname == (_TABLE_NS, "table"):
            blocks.extend(table_blocks(_table_rows(child)))
        elif qname is not None and qname[0] == _TEXT_NS:  # sections and other wrappers
            blocks.extend(element_blocks(child, depth))
    return blocks


def _list_blocks(element: Any, depth: int) -> list[Block]:
    lines: list[str] = []
    for item in element.childNodes:
        for block in element_blocks(item, depth + 1):
            prefix = "  " * depth + ("- " if not block.text.lstrip().startswith("- ") else "")
            lines.append(prefix + block.text)
    return [Block("\n".join(lines))] if lines else []


def _table_rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.getElementsByType(_row_type()):
        cells: list[str] = []
        for cell in row.childNodes:
            if getattr(cell, "qname", None) == (_TABLE_NS, "table-cell"):
                repeat = int(cell.getAttrNS(_TABLE_NS, "number-columns-repeated") or 1)
                cells.extend([_text(cell)] * min(repeat, 100))
        rows.append(cells)
    return rows


def _row_type() -> Any:
    from odf.table import TableRow  # type: ignore[import-untyped]

    return TableRow
