"""Zip-based formats (docx, xlsx, pptx, epub, odt): zip bombs, XML bombs, broken containers."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from hostile._base import ANY, FAIL, Hostile

MIB = 1024 * 1024
# Where each format keeps its main XML part, and the parts a reader needs beside it.
MAIN_PART = {
    "docx": "word/document.xml",
    "xlsx": "xl/worksheets/sheet1.xml",
    "pptx": "ppt/slides/slide1.xml",
    "epub": "OEBPS/c1.xhtml",
    "odt": "content.xml",
}
_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
)


def billion_laughs(levels: int = 10, root: str = "r") -> bytes:
    """The classic exponential entity bomb: 10 levels of ten references each."""
    entities = ['<!ENTITY l0 "lol">']
    for level in range(1, levels):
        refs = f"&l{level - 1};" * 10
        entities.append(f'<!ENTITY l{level} "{refs}">')
    body = f"<!DOCTYPE {root} [{''.join(entities)}]><{root}>&l{levels - 1};</{root}>"
    return ('<?xml version="1.0"?>' + body).encode()


def quadratic_blowup(size: int = 200_000, refs: int = 20_000) -> bytes:
    """One large entity referenced many times (no nesting: slips past depth limits)."""
    entity = "A" * size
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{entity}">]><r>{"&a;" * refs}</r>'
    ).encode()


def external_entity(secret: Path, root: str = "r") -> bytes:
    """XXE: an entity that names a local file; its content must never be indexed."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY x SYSTEM "file://{secret}">]>'
        f"<{root}>leak: &x;</{root}>"
    ).encode()


def container(kind: str, main: bytes, *, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal container of ``kind`` whose main part is ``main``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if kind == "epub":
            archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
            archive.writestr("META-INF/container.xml", _EPUB_CONTAINER)
            archive.writestr("OEBPS/content.opf", _EPUB_OPF)
        elif kind == "odt":
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        else:
            archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr(MAIN_PART[kind], main)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zeros_member(kind: str, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        with archive.open(MAIN_PART[kind], "w", force_zip64=True) as member:
            chunk = b"\0" * MIB
            for _ in range(size // MIB):
                member.write(chunk)
    return buffer.getvalue()


def _many_members(kind: str, count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MAIN_PART[kind], b"<r/>")
        for index in range(count):
            archive.writestr(f"p/{index}", b"")
    return buffer.getvalue()


# Real documents whose main part a bomb replaces, so the format's own reader parses it.
REAL = {
    "docx": ("en_table_word_sample.docx", "word/document.xml"),
    "xlsx": ("en_stanley_cups.xlsx", "xl/worksheets/sheet1.xml"),
    "pptx": ("zh_table_ocr_test.pptx", "ppt/slides/slide1.xml"),
    "epub": ("en_purvis_poetry.epub", "epub/text/poetry.xhtml"),
}


def replaced(source: Path, part: str, data: bytes) -> bytes:
    """``source`` (a zip container) with member ``part`` replaced by ``data``."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(source) as original,
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for member in original.infolist():
            body = data if member.filename == part else original.read(member)
            archive.writestr(member.filename, body)
    return buffer.getvalue()


def _odt(text: str) -> bytes:
    from odf.opendocument import OpenDocumentText  # type: ignore[import-untyped]
    from odf.text import P  # type: ignore[import-untyped]

    document = OpenDocumentText()
    document.text.addElement(P(text=text))
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def _real_bombs(secret: Path, docs: Path) -> Iterator[Hostile]:
    sources = {kind: (docs / name, part) for kind, (name, part) in REAL.items()}
    for kind, (source, part) in sources.items():
        yield Hostile(f"real-laughs.{kind}", replaced(source, part, billion_laughs()), ANY)
        yield Hostile(f"real-quadratic.{kind}", replaced(source, part, quadratic_blowup()), ANY)
        yield Hostile(f"real-xxe.{kind}", replaced(source, part, external_entity(secret)), ANY)
        yield Hostile(f"real-notxml.{kind}", replaced(source, part, b"<<<\xff" * 999), ANY)


def odt_bombs(secret: Path, folder: Path) -> Iterator[Hostile]:
    source = folder / "made.odt"
    source.write_bytes(_odt("An OpenDocument text made for the hostile files."))
    try:
        yield Hostile("real-good.odt", source.read_bytes(), "good")
        for name, data in (
            ("laughs", billion_laughs()),
            ("quadratic", quadratic_blowup()),
            ("xxe", external_entity(secret)),
        ):
            yield Hostile(f"real-{name}.odt", replaced(source, "content.xml", data), ANY)
    finally:
        source.unlink()


def kinds(secret: Path, docs: Path) -> Iterator[Hostile]:
    yield from _real_bombs(secret, docs)
    yield from odt_bombs(secret, secret.parent)
    for kind in MAIN_PART:
        yield Hostile(f"zipbomb-total.{kind}", _zeros_member(kind, 80 * MIB), FAIL, "zip bomb")
        yield Hostile(f"zipbomb-ratio.{kind}", _zeros_member(kind, 24 * MIB), FAIL, "zip bomb")
        yield Hostile(f"laughs.{kind}", container(kind, billion_laughs()), ANY)
        yield Hostile(f"quadratic.{kind}", container(kind, quadratic_blowup()), ANY)
        yield Hostile(f"xxe.{kind}", container(kind, external_entity(secret)), ANY)
        yield Hostile(f"not-xml.{kind}", container(kind, b"\xff\xfe<<<" * 1000), FAIL)
        yield Hostile(f"truncated-zip.{kind}", container(kind, b"<r>t</r>")[:-40], FAIL)
        yield Hostile(f"text-renamed.{kind}", b"just some text, not a zip\n" * 10, FAIL, "zip")
        yield Hostile(f"ole.{kind}", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 4096, FAIL)
        yield Hostile(f"empty-zip.{kind}", _empty_zip(), FAIL)
        deep = b"<r>" + b"<a>" * 100_000 + b"deep" + b"</a>" * 100_000 + b"</r>"
        yield Hostile(f"deep-xml.{kind}", container(kind, deep), ANY)
    yield Hostile("zip-parts.docx", _many_members("docx", 100_001), FAIL, "zip bomb")


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w"):
        pass
    return buffer.getvalue()


_EPUB_CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:'
    'xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type='
    '"application/oebps-package+xml"/></rootfiles></container>'
)
_EPUB_OPF = (
    '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
    'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
    '<dc:identifier id="id">x</dc:identifier><dc:title>t</dc:title><dc:language>en'
    '</dc:language></metadata><manifest><item id="c1" href="c1.xhtml" media-type='
    '"application/xhtml+xml"/></manifest><spine><itemref idref="c1"/></spine></package>'
)
