"""PDF through PDFium: the text layer page by page, OCR for scans and large pictures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._textflow import reflow
from chatkb.loaders._titles import enhance_titles
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

if TYPE_CHECKING:
    from PIL.Image import Image

# PDFium is not thread-safe: every call into it, in this process, goes through this lock.
_PDFIUM_LOCK = threading.Lock()
_MIN_TEXT_CHARS = 20  # a page with less text than this is treated as a scan
# A page with this much text over a picture covering nearly all of it is a scan that was
# already OCR'd (a "searchable PDF"): its text layer is that picture's text, and reading the
# picture again would cost seconds to duplicate every line.
_USABLE_TEXT_CHARS = 200
_PAGE_COVER = 0.85
_OCR_LONG_SIDE = 2000  # pixels on the long side of a page rendered for OCR
_LOAD_ERRORS = {
    2: "file not found or cannot be opened",
    3: "not a PDF or corrupted (bad structure; truncated?)",
    4: "encrypted: the PDF is password-protected; remove the password and add it again",
    5: "encrypted with an unsupported security handler",
}


@dataclass
class _Page:
    number: int
    text: str
    images: list[Image] = field(default_factory=list)


@register_loader(".pdf")
class PdfLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        blocks: list[Block] = []
        scanned_pages = ocr_pages = 0
        for page in _read_pages(path, options):
            ocr_pages += bool(page.images)
            if ocr_pages > options.max_ocr_pages:  # OCR is seconds a page: bound the file
                raise LoadError(
                    f"needs OCR on more than {options.max_ocr_pages} pages "
                    "(loading.max_ocr_pages); raise it to read this scan"
                )
            page_blocks = [Block(text, page=page.number) for text in reflow(page.text)]
            if options.zh_title_enhance:
                page_blocks = enhance_titles(page_blocks)
            blocks.extend(page_blocks)
            scanned_pages += not page.text.strip()
            blocks.extend(_ocr(page))
        if not blocks and scanned_pages and not options.ocr:
            raise LoadError("PDF has no text layer (a scan); turn OCR on to read it")
        return LoadedDocument(tuple(blocks), file_type="pdf")


def _ocr(page: _Page) -> list[Block]:
    from chatkb.loaders._ocr import ocr_blocks

    blocks: list[Block] = []
    for image in page.images:
        blocks.extend(ocr_blocks(image, page=page.number))
    return blocks


def _read_pages(path: Path, options: LoaderOptions) -> Iterator[_Page]:
    """Text and (when OCR is on) images to OCR, page by page.

    The lock is held only while PDFium works, so OCR of one page runs outside it, and only
    one page's images are in memory at a time.
    """
    with _PDFIUM_LOCK:
        document = _open(path)
        pages = len(document)
    if pages > options.max_pages:
        with _PDFIUM_LOCK:
            document.close()
        raise LoadError(
            f"PDF has {pages:,} pages, over the {options.max_pages:,}-page limit "
            "(loading.max_pages)"
        )
    try:
        for index in range(len(document)):
            with _PDFIUM_LOCK:
                page = _read_page(document, index, options)
            yield page
    finally:
        with _PDFIUM_LOCK:
            document.close()


def _open(path: Path) -> Any:
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        reason = _LOAD_ERRORS.get(getattr(exc, "err_code", None) or 0, str(exc))
        raise LoadError(f"cannot read PDF: {reason}") from None


def _read_page(document: Any, index: int, options: LoaderOptions) -> _Page:
    page = document[index]
    try:
        textpage = page.get_textpage()
        result = _Page(index + 1, str(textpage.get_text_bounded()))
        textpage.close()
        if options.ocr:
            result.images = _images_to_ocr(page, result.text, options.ocr_image_share)
        return result
    finally:
        page.close()


def _images_to_ocr(page: Any, text: str, share: float) -> list[Image]:
    """The whole page when it is a scan (no text layer, or a few stray characters over a
    page-sized picture), else each picture that covers at least ``share`` of the page;
    never the page-sized picture under a usable text layer."""
    text = text.strip()
    below = _PAGE_COVER if len(text) >= _USABLE_TEXT_CHARS else None
    pictures = _large_pictures(page, share, below=below)
    if not text or (len(text) < _MIN_TEXT_CHARS and pictures):
        return [_render(page)]
    return [picture.to_pil() for picture in pictures]


def _render(page: Any) -> Image:
    width, height = page.get_size()
    scale = min(3.0, _OCR_LONG_SIDE / max(width, height, 1.0))
    bitmap = page.render(scale=scale)
    return bitmap.to_pil()  # type: ignore[no-any-return]


def _large_pictures(page: Any, share: float, *, below: float | None = None) -> list[Any]:
    """Bitmaps (not yet decoded to PIL) of the pictures covering ``share`` of the page (and
    less than ``below`` of it, when given)."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    from chatkb.loaders._ocr import MAX_PIXELS

    width, height = page.get_size()
    page_area = max(width * height, 1.0)
    pictures: list[Any] = []
    for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]):
        left, bottom, right, top = obj.get_bounds()
        pixels_wide, pixels_high = obj.get_px_size()
        if pixels_wide * pixels_high > MAX_PIXELS:
            continue  # rendering it would need gigabytes; the page text still counts
        cover = (right - left) * (top - bottom) / page_area
        if cover >= share and (below is None or cover < below):
            pictures.append(obj.get_bitmap(render=True))
    return pictures
