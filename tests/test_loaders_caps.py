"""Structure caps checked before a parser builds anything: each refusal names the cap.

The files come from the hostile-file generator (``tests/hostile``), made at test time.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from _datasets import doc
from chatkb.errors import LoadError
from chatkb.loaders import LoaderOptions, load_file
from hostile import archives, documents, media

MIB = 1024 * 1024


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("one-line.csv", b"a," * (5 * MIB), "line 1 has over 10,000 cells"),
        ("one-line.tsv", b"a\t" * (5 * MIB), "line 1 has over 10,000 cells"),
        ("tall.csv", b"a,b,c,d,e,f,g,h,i,j\n" * 250_000, "table has over 2,000,000 cells"),
        ("tags.html", b"<p>x</p>" * 600_000, "HTML has over 500,000 tags"),
        ("nested.eml", documents.nested_email(2_000), "2000 multipart sections"),
        ("parts.eml", documents.many_parts_email(20_000), "over 10,000 MIME parts"),
        ("deep.ipynb", b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too"),
        ("pages.pdf", documents.many_pages_pdf(10_001), "10,001 pages, over the 10,000"),
        ("bomb.png", media.png_bomb(), "decompression bomb"),
        ("bomb.gif", media.gif_bomb(), "decompression bomb"),
    ],
)
def test_a_structure_past_its_cap_is_refused_with_that_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(LoadError, match=reason):
        load_file(_write(tmp_path, name, data))


def test_the_page_cap_is_a_setting(tmp_path: Path) -> None:
    path = _write(tmp_path, "pages.pdf", documents.many_pages_pdf(30))
    with pytest.raises(LoadError, match="30 pages, over the 20-page limit"):
        load_file(path, LoaderOptions(max_pages=20))


def test_a_real_email_under_the_caps_still_loads(tmp_path: Path) -> None:
    message = documents.many_parts_email(50).replace(b"\r\np\r\n", b"\r\npart text\r\n")
    assert "part text" in load_file(_write(tmp_path, "ok.eml", message)).text


@pytest.mark.parametrize("kind", sorted(archives.REAL))
def test_xml_entity_bombs_in_real_documents_do_not_expand(tmp_path: Path, kind: str) -> None:
    """lxml's amplification limit (docx, pptx, epub) and defusedxml (xlsx, odt) stop the
    exponential and quadratic bombs; an external entity never pulls in a local file."""
    secret = _write(tmp_path, "secret.txt", b"SECRET-XYZZY\n")
    name, part = archives.REAL[kind]
    for bomb in (archives.billion_laughs(), archives.quadratic_blowup()):
        path = _write(tmp_path, f"bomb.{kind}", archives.replaced(doc(name), part, bomb))
        try:
            text = load_file(path).text
        except LoadError:
            continue
        assert len(text) < 4 * path.stat().st_size  # nothing expanded
    xxe = archives.replaced(doc(name), part, archives.external_entity(secret))
    with contextlib.suppress(LoadError):  # refusing it is fine too
        assert "XYZZY" not in load_file(_write(tmp_path, f"xxe.{kind}", xxe)).text
