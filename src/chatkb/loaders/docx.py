"""Word documents (.docx) through python-docx: headings, lists, tables and pictures in order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._tables import table_blocks
from chatkb.loaders._zipguard import check_zip
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"


@register_loader(".docx")
class DocxLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        check_zip(path, options, kind="DOCX")
        document = _open(path)
        blocks: list[Block] = []
        for item in document.iter_inner_content():
            if hasattr(item, "rows"):
                blocks.extend(table_blocks([_row_texts(row) for row in item.rows]))
            else:
                blocks.extend(_paragraph_blocks(item, options))
        blocks = _merge_list_items(blocks)
        title = document.core_properties.title or next(
            (b.text for b in blocks if b.kind == "heading"), None
        )
        return LoadedDocument(tuple(blocks), file_type="docx", title=title or None)


def _open(path: Path) -> Any:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, KeyError) as exc:
        raise LoadError(f"not a Word document (.docx), or it is damaged: {exc}") from None


def heading_level(paragraph: Any) -> int:
    """1-9 for headings (by style name, Title, or outline level), else 0."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if match := _HEADING_STYLE.match(name.strip()):
        return max(1, int(match.group(1)))
    if name.lower() in ("title", "标题"):
        return 1
    for element in (paragraph._p, getattr(style, "element", None)):
        p_pr = getattr(element, "pPr", None)
        outline = getattr(p_pr, "outlineLvl", None) if p_pr is not None else None
        if outline is not None and 0 <= int(outline.val) < 9:
            return int(outline.val) + 1
    return 0


def _list_depth(paragraph: Any) -> int | None:
    """Nesting depth (0 = top) if the paragraph is a list item, else None."""
    p_pr = paragraph._p.pPr
    num_pr = p_pr.numPr if p_pr is not None else None
    if num_pr is not None:
        ilvl = num_pr.ilvl
        return int(ilvl.val) if ilvl is not None else 0
    style = paragraph.style
    return 0 if style is not None and (style.name or "").startswith("List") else None


def _paragraph_blocks(paragraph: Any, options: LoaderOptions) -> list[Block]:
    blocks: list[Block] = []
    text = paragraph.text.strip()
    level = heading_level(paragraph) if text else 0
    depth = None if level else _list_depth(paragraph)
    if level:
        blocks.append(Block(text, "heading", level=level))
    elif text and depth is not None:
        blocks.append(Block("  " * depth + "- " + text))
    elif text:
        blocks.append(Block(text))
    if options.ocr:
        blocks.extend(_picture_blocks(paragraph))
    return blocks


def _merge_list_items(blocks: list[Block]) -> list[Block]:
    """Consecutive list items become one paragraph, one item per line."""
    merged: list[Block] = []
    for block in blocks:
        if merged and _is_list(block) and _is_list(merged[-1]):
            merged[-1] = Block(merged[-1].text + "\n" + block.text)
        else:
            merged.append(block)
    return merged


def _is_list(block: Block) -> bool:
    return block.kind == "paragraph" and block.text.lstrip().startswith("- ")


def _picture_blocks(paragraph: Any) -> list[Block]:
    from chatkb.loaders._ocr import ocr_picture

    blocks: list[Block] = []
    for blip in paragraph._p.iter(_BLIP):
        part = paragraph.part.related_parts.get(blip.get(_EMBED))
        blocks.extend(ocr_picture(getattr(part, "blob", b"")))
    return blocks


def _row_texts(row: Any) -> list[str]:
    """Cell texts of one row; merged cells repeat (python-docx returns them per grid slot),
    and a table nested in a cell is flattened into that cell's text."""
    return [_cell_text(cell) for cell in row.cells]


def _cell_text(cell: Any) -> str:
    parts: list[str] = []
    for item in cell.iter_inner_content():
        if hasattr(item, "rows"):
            parts.extend("; ".join(_row_texts(row)) for row in item.rows)
        else:
            parts.append(item.text)
    return " ".join(part for part in parts if part.strip())
