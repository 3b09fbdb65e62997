"""Plain text, CSV and JSON: broken encodings, one enormous line, binary in disguise."""

from __future__ import annotations

from collections.abc import Iterator

from hostile._base import ANY, FAIL, GOOD, Hostile

MIB = 1024 * 1024
SAMPLE = "Knowledge bases keep documents. 知识库保存文档。 Базы знаний. "


def kinds() -> Iterator[Hostile]:
    yield Hostile("one-line.csv", b"a," * (25 * MIB), FAIL, "cells")  # 50 MB, one row of 25M cells
    yield Hostile("one-field.csv", b'"' + b"x" * (50 * MIB) + b'"', FAIL)
    yield Hostile(
        "wide.csv", b",".join(b"c%d" % i for i in range(200_000)) + b"\n1,2\n", FAIL, "cells"
    )
    yield Hostile("unclosed-quote.csv", b'a,b\n"1,2\n3,4\n' * 1000, ANY)
    yield Hostile("nul.csv", b"a,b\n1,\0\n" * 100, ANY)
    yield Hostile("one-line.txt", b"word " * 40_000, GOOD)  # 200 kB, no newline
    yield Hostile("one-line.tsv", b"a\t" * (25 * MIB), FAIL, "cells")
    yield Hostile("binary.txt", bytes(range(256)) * 64, FAIL, "binary")
    yield Hostile("nul-bytes.md", b"\0" * 10_000, FAIL)
    yield Hostile("elf.py", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 32, FAIL)
    yield Hostile("utf16-no-bom.txt", SAMPLE.encode("utf-16-le") * 50, GOOD)
    yield Hostile("utf16-bom.txt", SAMPLE.encode("utf-16") * 50, GOOD)
    yield Hostile("utf32.txt", SAMPLE.encode("utf-32") * 50, GOOD)
    yield Hostile("gb18030.txt", SAMPLE.encode("gb18030", "replace") * 50, GOOD)
    yield Hostile("latin1.txt", "Café naïve façade déjà vu. ".encode("latin-1") * 50, GOOD)
    bad_utf8 = SAMPLE.encode() * 20 + b"\xff\xfe\xc3\x28\xa0\xa1" * 20 + SAMPLE.encode() * 20
    yield Hostile("bad-utf8.txt", bad_utf8, GOOD)
    yield Hostile("cut-utf8.md", SAMPLE.encode()[:-1] * 30, GOOD)
    yield Hostile("overlong-utf8.txt", b"text \xc0\xaf\xe0\x80\xaf " * 200, ANY)
    yield Hostile("surrogates.txt", b"a\xed\xa0\x80b " * 300, ANY)
    yield Hostile("bom-only.txt", b"\xef\xbb\xbf", FAIL)
    yield Hostile("whitespace.txt", b" \t\r\n" * 5000, FAIL)
    yield Hostile("controls.txt", bytes(range(1, 32)) * 300, ANY)
    yield Hostile("rtl-override.md", "\u202egnirts desrever ".encode() * 100, GOOD)
    yield Hostile("zalgo.txt", ("Z" + "\u0301" * 500 + " ").encode() * 5, GOOD)
    yield Hostile("crlf-mix.txt", b"line\r\r\r\n\n\r" * 1_000, GOOD)
    yield Hostile("many-lines.jsonl", b'{"a": 1}\n' * 5_000, ANY)
    yield Hostile("bad-lines.jsonl", b'{"a": \n' * 1000, FAIL)
    yield Hostile("nan.json", b'{"x": NaN, "y": Infinity}', ANY)
    yield Hostile("empty-object.json", b"{}", FAIL)
    yield Hostile("long-yaml.yaml", b"key: " + b"v" * (200 * 1024) + b"\n", GOOD)
    yield Hostile("svg-script.xml", b"<svg><script>alert(1)</script><text>hi</text></svg>", ANY)
