"""OCR runs only where it finds text: blank pages and searchable scans skip it, real scans
still read right."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _datasets import doc, squash
from chatkb.errors import LoadError
from chatkb.loaders import load_file


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An engine that fails the test if OCR is asked to read anything."""
    from chatkb.loaders import _ocr

    def refuse(image: object) -> None:
        raise AssertionError("OCR ran on an image with nothing to read")

    monkeypatch.setattr(_ocr, "_engine", refuse)
    yield


def _blank_scan(path: Path, dust: int = 0) -> Path:
    """A one-page image-only PDF: white paper with ``dust`` grey specks."""
    from PIL import Image

    page = Image.new("RGB", (1240, 1754), "white")
    for index in range(dust):
        page.putpixel((100 + 25 * index, 200 + 30 * index), (90, 90, 90))
    page.save(path, "PDF", resolution=150)
    return path


@pytest.mark.usefixtures("no_ocr")
@pytest.mark.parametrize("dust", [0, 40])
def test_a_blank_scanned_page_is_not_ocred(tmp_path: Path, dust: int) -> None:
    with pytest.raises(LoadError, match="no text could be extracted"):
        load_file(_blank_scan(tmp_path / "blank.pdf", dust))


def test_a_page_number_alone_is_not_blank() -> None:
    from PIL import Image, ImageDraw, ImageFont

    from chatkb.loaders._ocr import is_blank

    page = Image.new("RGB", (1545, 2000), "white")
    ImageDraw.Draw(page).text((700, 1900), "Page 3", fill="black", font=ImageFont.load_default(28))
    assert not is_blank(page)
    assert is_blank(Image.new("RGB", (1545, 2000), (30, 30, 30)))  # a dark, empty slide


def _searchable_scan(path: Path) -> tuple[Path, str]:
    """A page-sized picture of text under a text layer of the same words, as a scanner's
    own OCR writes it."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]
    import pypdfium2.raw as raw  # type: ignore[import-untyped]
    from PIL import Image, ImageDraw

    lines = [f"Searchable scan line {n} with words and more words to read" for n in range(8)]
    picture = Image.new("RGB", (600, 800), "white")
    for number, line in enumerate(lines):
        ImageDraw.Draw(picture).text((40, 40 + 35 * number), line, fill="black")
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(600, 800)
    image = pdfium.PdfImage.new(pdf)
    image.set_bitmap(pdfium.PdfBitmap.from_pil(picture))
    image.set_matrix(pdfium.PdfMatrix().scale(600, 800))
    page.insert_obj(image)
    for number, line in enumerate(lines):
        _add_text(raw, pdf, page, line, 760 - 35 * number)
    page.gen_content()
    pdf.save(path)
    return path, " ".join(lines)


def _add_text(raw: Any, pdf: Any, page: Any, line: str, y: float) -> None:
    obj = raw.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", 10.0)
    wide = ctypes.create_string_buffer(line.encode("utf-16-le") + b"\0\0")
    raw.FPDFText_SetText(obj, ctypes.cast(wide, ctypes.POINTER(raw.FPDF_WCHAR)))
    raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 40, y)
    raw.FPDFPage_InsertObject(page.raw, obj)


@pytest.mark.usefixtures("no_ocr")
def test_a_searchable_scan_is_read_from_its_text_layer(tmp_path: Path) -> None:
    path, text = _searchable_scan(tmp_path / "searchable.pdf")
    document = load_file(path)
    assert squash(document.text) == squash(text)  # once: the picture is not read again


@pytest.mark.parametrize(
    ("name", "words"),
    [
        (
            "en_scanned_image.pdf",
            ["Principal component analysis", "tumour", "metastases", "fold change"],
        ),
        ("en_image_layout_parser_table.jpg", ["LayoutParser", "PubLayNet", "Newspaper"]),
        ("en_image_table.png", ["Low Vision", "Dexterity", "Mobility"]),
        ("zh_image_promo_banner.jpg", ["正品促销", "大桶装更划算", "假一赔十"]),
    ],
)
def test_real_scans_still_read_right(name: str, words: list[str]) -> None:
    text = squash(load_file(doc(name)).text)
    missing = [word for word in words if squash(word) not in text]
    assert not missing, f"{name}: not read: {missing}"


def test_ocr_threads_sleep_when_idle() -> None:
    """Spinning idle threads take CPU from the working one on a busy machine."""
    from PIL import Image

    from chatkb.loaders import _ocr

    engine = _ocr._build_engine()
    with Image.open(doc("zh_image_textbox.jpg")) as image:
        assert "横向文本框" in "".join(engine(_ocr.flatten(image)).txts)  # loads every model
    for stage in (engine.text_det, engine.text_cls, engine.text_rec):
        options = stage.session.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == _ocr.ocr_threads()
