"""PDF, e-mail, RTF, HTML and XML built to exhaust a parser: flate bombs, deep nesting."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from hostile._base import ANY, FAIL, Hostile
from hostile.archives import billion_laughs, quadratic_blowup

MIB = 1024 * 1024


def pdf(objects: list[bytes], *, root: int = 1) -> bytes:
    """A PDF from numbered object bodies (1-based), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (len(objects) + 1, root)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    head = b"<< /Length %d /Filter /FlateDecode %s>>" % (len(packed), extra)
    return head + b"\nstream\n" + packed + b"\nendstream"


def _page_pdf(content: bytes, resources: bytes = b"<< >>") -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources " + resources + b" >>",
            content,
        ]
    )


def flate_bomb_pdf(size: int = 256 * MIB) -> bytes:
    """A page whose content stream inflates from ~256 KiB to ``size`` bytes."""
    return _page_pdf(_stream(b" " * size))


def image_bomb_pdf() -> bytes:
    """A page drawing a 60000 x 60000 image that inflates from a few hundred KiB."""
    image = _stream(
        b"\0" * (64 * MIB),
        b"/Type /XObject /Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 ",
    )
    content = _stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /XObject << /Im0 5 0 R >> >> >>",
            content,
            image,
        ]
    )


def many_pages_pdf(count: int = 50_000) -> bytes:
    """Tens of thousands of empty pages sharing one content stream."""
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        _stream(b""),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"
    objects += [page] * count
    return pdf(objects)


def nested_arrays_pdf(depth: int = 200_000) -> bytes:
    return _page_pdf(b"[" * depth + b"]" * depth)


def page_tree_loop_pdf() -> bytes:
    return pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R] /Count 1 >>",
        ]
    )


def nested_email(depth: int = 5_000) -> bytes:
    """A message inside a message inside a message... ``depth`` levels of MIME."""
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return (
        b"Subject: deep\r\nMIME-Version: 1.0\r\n"
        + head
        + b"Content-Type: text/plain\r\n\r\nx"
        + tail
    )


def many_parts_email(count: int = 100_000) -> bytes:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\np\r\n" for _ in range(count))
    return (
        b'Subject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"'
        b"\r\n\r\n" + parts + b"--b--\r\n"
    )


def kinds() -> Iterator[Hostile]:
    yield Hostile("flate-bomb.pdf", flate_bomb_pdf(), FAIL)
    yield Hostile("image-bomb.pdf", image_bomb_pdf(), ANY)
    yield Hostile("many-pages.pdf", many_pages_pdf(), FAIL, "page limit")
    yield Hostile("nested-arrays.pdf", nested_arrays_pdf(), FAIL)
    yield Hostile("page-loop.pdf", page_tree_loop_pdf(), FAIL)
    yield Hostile("no-xref.pdf", b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", FAIL)
    yield Hostile("header-only.pdf", b"%PDF-1.7\n", FAIL)
    yield Hostile("nested.eml", nested_email(), FAIL, "nested")
    yield Hostile("many-parts.eml", many_parts_email(), FAIL, "MIME parts")
    yield Hostile("no-headers.eml", b"\r\n\r\n\r\n", FAIL)
    yield Hostile("bad-base64.eml", _bad_base64_email(), ANY)
    yield Hostile(
        "deep-groups.rtf", b"{\\rtf1 " + b"{" * 200_000 + b"x" + b"}" * 200_000 + b"}", ANY
    )
    yield Hostile("unclosed.rtf", b"{\\rtf1 {{{{{{ text", ANY)
    yield Hostile("laughs.xml", billion_laughs(), ANY)
    yield Hostile("quadratic.xml", quadratic_blowup(20_000, 2_000), ANY)
    yield Hostile("laughs.html", billion_laughs(root="html"), ANY)
    yield Hostile("laughs.xhtml", billion_laughs(root="html"), ANY)
    deep_html = b"<div>" * 200_000 + b"deep" + b"</div>" * 200_000
    yield Hostile("deep.html", deep_html, FAIL, "nested")
    yield Hostile("many-tags.html", b"<p>x</p>" * 1_000_000, FAIL, "tags")
    yield Hostile("many-attrs.html", b"<p " + b'a="1" ' * 500_000 + b">x</p>", ANY)
    yield Hostile("unclosed-comment.html", b"<p>a</p><!--" + b"x" * MIB, ANY)
    yield Hostile("script-only.html", b"<script>" + b"alert(1);" * 10_000 + b"</script>", FAIL)
    deep_md = b"> " * 5_000 + b"quote\n"
    yield Hostile("deep-quote.md", deep_md, ANY)
    yield Hostile("deep-list.md", b"".join(b"  " * i + b"- x\n" for i in range(60)), ANY)
    yield Hostile("deep.json", b"[" * 1_000_000 + b"]" * 1_000_000, FAIL)
    yield Hostile("big-int.json", b"1" * 1_000_000, ANY)
    yield Hostile(
        "many-keys.json", b"{" + b",".join(b'"k%d":1' % i for i in range(1_000)) + b"}", ANY
    )
    yield Hostile("bad.ipynb", b'{"cells": [{"cell_type": "code", "source": 5}]}', ANY)
    yield Hostile("deep.ipynb", b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", FAIL)


def _bad_base64_email() -> bytes:
    return (
        b"Subject: b64\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b"!!!not base64@@@\r\n" * 1000
    )
