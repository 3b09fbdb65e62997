"""Bad input: every hostile file fails alone with a LoadError that says what is wrong."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from _datasets import doc
from chatkb.errors import LoadError
from chatkb.loaders import LoaderOptions, load_file

MIB = 1024 * 1024


@pytest.fixture
def text_pdf() -> bytes:
    return doc("en_text_layout_parser_paper.pdf").read_bytes()


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _encrypted_pdf(source: bytes, *, user_password: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(source))
    writer.encrypt(user_password, owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_truncated_pdf(tmp_path: Path, text_pdf: bytes) -> None:
    path = _write(tmp_path, "cut.pdf", text_pdf[: len(text_pdf) // 2])
    with pytest.raises(LoadError, match=r"cannot read PDF: .*corrupted .*truncated"):
        load_file(path)


def test_corrupt_pdf_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path, "noise.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40)
    with pytest.raises(LoadError, match="not a PDF or corrupted"):
        load_file(path)


def test_password_protected_pdf(tmp_path: Path, text_pdf: bytes) -> None:
    path = _write(tmp_path, "locked.pdf", _encrypted_pdf(text_pdf, user_password="secret"))
    with pytest.raises(LoadError, match="encrypted: the PDF is password-protected"):
        load_file(path)


def test_pdf_with_only_an_owner_password_still_reads(tmp_path: Path, text_pdf: bytes) -> None:
    path = _write(tmp_path, "restricted.pdf", _encrypted_pdf(text_pdf, user_password=""))
    assert "Allen Institute for AI" in load_file(path).text


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("bomb.docx", "word/document.xml"),
        ("bomb.xlsx", "xl/worksheets/sheet1.xml"),
        ("bomb.pptx", "ppt/slides/slide1.xml"),
        ("bomb.epub", "OEBPS/chapter1.xhtml"),
        ("bomb.odt", "content.xml"),
    ],
)
def test_zip_bombs_are_refused_before_unpacking(tmp_path: Path, name: str, part: str) -> None:
    data = _zip({"[Content_Types].xml": b"<Types/>", part: b"\0" * (4 * MIB)})
    assert len(data) < 64 * 1024
    path = _write(tmp_path, name, data)
    with pytest.raises(LoadError, match=r"zip bomb: .* would unpack to 4 MiB \(limit 1 MiB\)"):
        load_file(path, LoaderOptions(max_unpacked_bytes=MIB))


def test_zip_bomb_by_compression_ratio(tmp_path: Path) -> None:
    path = _write(tmp_path, "ratio.docx", _zip({"word/document.xml": b"\0" * (24 * MIB)}))
    with pytest.raises(LoadError, match=r"zip bomb: DOCX part 'word/document.xml' is compressed"):
        load_file(path)


@pytest.mark.parametrize("name", ["notzip.docx", "notzip.xlsx", "notzip.pptx", "notzip.epub"])
def test_office_file_that_is_not_a_zip(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, b"just some text pretending to be an office file\n" * 10)
    with pytest.raises(LoadError, match="corrupt or truncated zip"):
        load_file(path)


def test_truncated_docx(tmp_path: Path) -> None:
    data = doc("en_table_word_sample.docx").read_bytes()
    path = _write(tmp_path, "cut.docx", data[: len(data) // 3])
    with pytest.raises(LoadError, match="not a valid DOCX file"):
        load_file(path)


def test_password_protected_office_file(tmp_path: Path) -> None:
    ole = bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 4096  # how encrypted OOXML is stored
    path = _write(tmp_path, "locked.xlsx", ole)
    with pytest.raises(LoadError, match="password-protected"):
        load_file(path)


def test_binary_with_txt_extension(tmp_path: Path) -> None:
    path = _write(tmp_path, "program.txt", bytes(range(256)) * 16)
    with pytest.raises(LoadError, match="looks binary"):
        load_file(path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="empty file"):
        load_file(_write(tmp_path, "empty.md", b""))


def test_whitespace_only_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no text could be extracted"):
        load_file(_write(tmp_path, "blank.txt", b"  \n\n \t \n"))


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", b"hello world\n" * (300 * 1024))
    with pytest.raises(LoadError, match=r"over the 1 MiB limit"):
        load_file(path, LoaderOptions(max_file_bytes=MIB))


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"unsupported file type '\.xyz'"):
        load_file(_write(tmp_path, "data.xyz", b"hello"))


def test_damaged_image(tmp_path: Path) -> None:
    data = doc("zh_image_textbox.jpg").read_bytes()
    with pytest.raises(LoadError, match="damaged or truncated image"):
        load_file(_write(tmp_path, "cut.jpg", data[:3000]))
    with pytest.raises(LoadError, match="not an image PIL can read"):
        load_file(_write(tmp_path, "text.png", b"this is not a picture at all\n" * 20))


def test_invalid_json_and_jsonl(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="invalid JSON"):
        load_file(_write(tmp_path, "bad.json", b'{"a": 1,'))
    lines = json.dumps({"a": "ok"}).encode() + b"\n{broken\n"
    with pytest.raises(LoadError, match="invalid JSON on line 2"):
        load_file(_write(tmp_path, "bad.jsonl", lines))


def test_deeply_nested_html_and_json(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="nested too deeply"):
        load_file(_write(tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000))
    html = b"<div>" * 5000 + b"deep text" + b"</div>" * 5000
    with pytest.raises(LoadError, match="HTML is nested too deeply"):
        load_file(_write(tmp_path, "deep.html", html))
    html = b"<div>" * 100 + b"deep text" + b"</div>" * 100  # deep, but real pages get there
    assert load_file(_write(tmp_path, "deep.html", html)).text == "deep text"


def test_good_file_beside_hostile_ones_still_loads(tmp_path: Path, text_pdf: bytes) -> None:
    _write(tmp_path, "cut.pdf", text_pdf[:1000])
    _write(tmp_path, "bomb.docx", _zip({"word/document.xml": b"\0" * (24 * MIB)}))
    _write(tmp_path, "empty.txt", b"")
    _write(tmp_path, "good.pdf", text_pdf)
    results: dict[str, str] = {}
    for path in sorted(tmp_path.iterdir()):
        try:
            results[path.name] = load_file(path).text
        except LoadError as exc:
            results[path.name] = f"error: {exc.message}"
    assert "Allen Institute for AI" in results["good.pdf"]
    assert all(
        results[name].startswith("error: ") for name in ("cut.pdf", "bomb.docx", "empty.txt")
    )


def test_deeply_nested_html_is_refused_in_one_pass() -> None:
    from chatkb.errors import LoadError
    from chatkb.loaders.html import html_blocks

    markup = "<html><body>" + "<div>" * 10_000 + "x" + "</div>" * 10_000 + "</body></html>"
    with pytest.raises(LoadError, match="nested too deeply"):
        html_blocks(markup)
