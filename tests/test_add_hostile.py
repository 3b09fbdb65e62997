"""Hostile files through ``chatkb add``: each fails alone with its reason; the good files in
the same folder go in, nothing half-written stays behind, and the exit code says "partial"."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from _datasets import doc
from chatkb.kb import Library
from conftest import Cli

MIB = 1024 * 1024


def _zip_bomb(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr(part, b"\0" * (40 * MIB))
    return buffer.getvalue()


def _encrypted_pdf(source: bytes) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(source))
    writer.encrypt("secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _hostile_folder(folder: Path) -> dict[str, str]:
    """Writes the files; returns each hostile file's expected error fragment."""
    folder.mkdir()
    pdf = doc("en_text_amt_handbook_sample.pdf").read_bytes()
    files = {
        "truncated.pdf": (pdf[: len(pdf) // 2], "PDF"),
        "noise.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 40, "not a PDF or corrupted"),
        "locked.pdf": (_encrypted_pdf(pdf), "password-protected"),
        "bomb.docx": (_zip_bomb("word/document.xml"), "zip bomb"),
        "bomb.xlsx": (_zip_bomb("xl/worksheets/sheet1.xml"), "zip bomb"),
        "bomb.pptx": (_zip_bomb("ppt/slides/slide1.xml"), "zip bomb"),
        "bomb.epub": (_zip_bomb("OEBPS/c1.xhtml"), "zip bomb"),
        "program.txt": (bytes(range(256)) * 16, "looks binary"),
        "empty.md": (b"", "empty file"),
        "huge.txt": (b"big text line\n" * (200 * 1024), "over the 2 MiB limit"),
        "data.xyz": (b"what is this", "unsupported file type '.xyz'"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    shutil.copy(doc("en_text_amt_handbook_sample.pdf"), folder / "handbook.pdf")
    shutil.copy(doc("zh_gbk_cpython_cjkencodings.txt"), folder / "gbk.txt")
    return {name: fragment for name, (_, fragment) in files.items()}


def test_hostile_files_fail_alone(
    cli: Cli, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKB_LOADING__MAX_FILE_MB", "2")
    expected = _hostile_folder(tmp_path / "batch")
    cli("kb", "create", "k")
    summary = cli.json("add", "k", str(tmp_path / "batch"), code=3)
    errors = {f["source"]: f["error"] for f in summary["files"] if f["status"] == "failed"}
    assert set(errors) == set(expected)
    for name, fragment in expected.items():
        assert fragment in errors[name], (name, errors[name])
    assert summary["added"] == 2

    kb = library.open("k")
    assert {d.source for d in kb.documents()} == {"handbook.pdf", "gbk.txt"}
    assert kb.store.check_consistency() == []
    hits = cli.json("search", "k", "Python 语言", "--top-k", "1")
    assert hits[0]["source"] == "gbk.txt"
    pdf_hit = cli.json("search", "k", "handbook", "--top-k", "1")[0]
    assert pdf_hit["source"] == "handbook.pdf" and pdf_hit["page"] >= 1


def test_every_chunk_of_a_long_table_starts_with_its_header(
    cli: Cli, library: Library, tmp_path: Path
) -> None:
    rows = "\n".join(f"{i},Station {i},{i * 7} passengers,line {i % 5}" for i in range(200))
    (tmp_path / "stations.csv").write_text("id,name,traffic,line\n" + rows, encoding="utf-8")
    cli("kb", "create", "t")
    cli("add", "t", str(tmp_path / "stations.csv"))
    chunks = library.open("t").chunks(library.open("t").documents()[0].doc_id)
    assert len(chunks) > 5
    for chunk in chunks:
        lines = chunk.text.splitlines()
        assert lines[0].replace(" ", "") == "|id|name|traffic|line|", lines[0]
        assert set(lines[1].replace(" ", "")) <= set("|-:")


def test_an_oversized_file_is_refused_before_it_is_read(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracemalloc

    monkeypatch.setenv("CHATKB_LOADING__MAX_FILE_MB", "2")
    sparse = tmp_path / "sparse.txt"
    with sparse.open("wb") as handle:  # 2 GiB on paper, a few bytes on disk
        handle.truncate(2 * 1024 * MIB)
    cli("kb", "create", "k")
    tracemalloc.start()
    try:
        summary = cli.json("add", "k", str(sparse), code=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary["files"][0]["status"] == "failed"
    assert "over the 2 MiB limit" in summary["files"][0]["error"]
    assert peak < 64 * MIB  # reading it first took 2.17 GB
