"""PowerPoint (.pptx) through python-pptx: one page per slide, titles, text, tables, notes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._tables import table_blocks
from chatkb.loaders._zipguard import check_zip
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument


@register_loader(".pptx")
class PptxLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        check_zip(path, options, kind="PPTX")
        presentation = _open(path)
        blocks: list[Block] = []
        for number, slide in enumerate(presentation.slides, 1):
            blocks.extend(slide_blocks(slide, number, options))
        title = presentation.core_properties.title or next(
            (b.text for b in blocks if b.kind == "heading"), None
        )
        return LoadedDocument(tuple(blocks), file_type="pptx", title=title or None)


def _open(path: Path) -> Any:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        return Presentation(str(path))
    except (PackageNotFoundError, KeyError) as exc:
        raise LoadError(f"not a PowerPoint file (.pptx), or it is damaged: {exc}") from None


def slide_blocks(slide: Any, number: int, options: LoaderOptions) -> list[Block]:
    """The slide's title as a heading, then its shapes top to bottom, then speaker notes."""
    title_shape = slide.shapes.title
    blocks: list[Block] = []
    if title_shape is not None and title_shape.text_frame.text.strip():
        title = " ".join(title_shape.text_frame.text.split())
        blocks.append(Block(title, "heading", page=number, level=1))
    others = [shape for shape in slide.shapes if shape != title_shape]
    blocks.extend(_shapes_blocks(others, number, options))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            blocks.append(Block("Notes: " + notes.text.strip(), page=number))
    return blocks


def _shapes_blocks(shapes: Iterable[Any], page: int, options: LoaderOptions) -> list[Block]:
    blocks: list[Block] = []
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        blocks.extend(_shape_blocks(shape, page, options))
    return blocks


def _shape_blocks(shape: Any, page: int, options: LoaderOptions) -> list[Block]:
    if hasattr(shape, "shapes"):  # a group: its members, in their own reading order
        return _shapes_blocks(shape.shapes, page, options)
    if getattr(shape, "has_table", False):
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        return table_blocks(rows, page=page)
    if getattr(shape, "has_text_frame", False):
        text = _frame_text(shape.text_frame)
        return [Block(text, page=page)] if text else []
    if options.ocr:
        return _picture_blocks(shape, page)
    return []


def _frame_text(frame: Any) -> str:
    """Paragraphs one per line; indented (nested bullet) paragraphs keep their depth."""
    lines = []
    for paragraph in frame.paragraphs:
        text = " ".join(paragraph.text.split())
        if text:
            lines.append("  " * (paragraph.level or 0) + text)
    return "\n".join(lines)


def _picture_blocks(shape: Any, page: int) -> list[Block]:
    from chatkb.loaders._ocr import ocr_picture

    try:
        blob = shape.image.blob
    except (AttributeError, ValueError, KeyError):  # not a picture, or a linked one
        return []
    return ocr_picture(blob, page=page)
