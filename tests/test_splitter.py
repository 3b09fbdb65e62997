"""The Chinese-aware splitter on real documents and on hand-made edge cases."""

from __future__ import annotations

import itertools
import re

import pytest

from _datasets import datasets_dir, doc
from chatkb.loaders import load_file
from chatkb.models import Block, LoadedDocument
from chatkb.splitter import sentence_windows, sentences, split


def _doc(*blocks: Block) -> LoadedDocument:
    return LoadedDocument(tuple(blocks), file_type="txt")


@pytest.mark.parametrize(
    "path",
    [
        "zh-dev/corpus/TRIAL_109.txt",
        "en-dev/corpus/Oxygen.txt",
        "docs/zh_readme_langchain_chatchat.md",
        "docs/zh_gbk_cpython_cjkencodings.txt",
    ],
)
def test_chunks_are_exact_slices_within_size(path: str) -> None:
    file = datasets_dir() / path
    if not file.exists():
        pytest.skip("datasets missing")
    document = load_file(file)
    chunks = split(document, chunk_size=300, chunk_overlap=60)
    assert chunks
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert 0 < len(chunk.text) <= 300
    # Every non-blank character of the document lands in some chunk.
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    missing = [i for i, c in enumerate(document.text) if not c.isspace() and i not in covered]
    assert missing == []


def test_english_is_never_cut_mid_word() -> None:
    document = load_file(doc("en_utf8_war_and_peace_1p.txt"))
    for chunk in split(document, chunk_size=200, chunk_overlap=40):
        before = document.text[chunk.start - 1] if chunk.start else " "
        after = document.text[chunk.end] if chunk.end < len(document.text) else " "
        assert not (before.isalnum() and chunk.text[0].isalnum()), chunk.text[:30]
        assert not (after.isalnum() and chunk.text[-1].isalnum()), chunk.text[-30:]


def test_chinese_splits_at_sentence_ends_and_overlaps() -> None:
    text = "".join(f"第{i}句话讲的是一件事情。" for i in range(40))
    chunks = split(_doc(Block(text)), chunk_size=100, chunk_overlap=30)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.endswith("。")
        assert chunk.text.startswith("第")
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end, "consecutive chunks share an overlap"
        assert first.end - second.start <= 30


def test_heading_path_and_sections() -> None:
    document = _doc(
        Block("Handbook", "heading", level=1),
        Block("Intro text."),
        Block("Safety", "heading", level=2),
        Block("Wear goggles."),
        Block("Chemicals", "heading", level=3),
        Block("Store acids low."),
        Block("Appendix", "heading", level=1),
        Block("Index."),
    )
    chunks = split(document, chunk_size=1000, chunk_overlap=0)
    paths = [c.heading_path for c in chunks]
    assert paths == [
        ("Handbook",),
        ("Handbook", "Safety"),
        ("Handbook", "Safety", "Chemicals"),
        ("Appendix",),
    ]
    assert chunks[2].text == "Chemicals\n\nStore acids low."


def test_pages_follow_the_chunk_start() -> None:
    document = _doc(Block("Page one text. " * 10, page=1), Block("Page two text. " * 10, page=2))
    chunks = split(document, chunk_size=160, chunk_overlap=0)
    assert [c.page for c in chunks] == [1, 2]


def test_over_long_sentence_is_cut_at_commas_or_spaces() -> None:
    text = "，".join(["这是一个没有句号的很长的分句"] * 30)
    chunks = split(_doc(Block(text)), chunk_size=80, chunk_overlap=0)
    assert all(len(c.text) <= 80 for c in chunks)
    assert all(c.text.endswith("，") or c is chunks[-1] for c in chunks)


def test_sentences_keep_semicolon_clauses_together() -> None:
    found = sentences("马飚，壮族；中央民族学院毕业。他曾任主席！ Then English. And more?")
    assert found == ["马飚，壮族；中央民族学院毕业。", "他曾任主席！", "Then English.", "And more?"]
    assert not any(re.match(r"^\s|\s$", s) for s in found)


def test_ascii_marks_inside_links_and_urls_do_not_end_sentences() -> None:
    found = sentences("看这里![logo](img/a.png?x=1)然后。Hello! World? Done")
    assert found == ["看这里![logo](img/a.png?x=1)然后。", "Hello!", "World?", "Done"]


def test_sentence_windows_are_runs_of_whole_sentences_within_the_limit() -> None:
    file = datasets_dir() / "en-dev/corpus/Oxygen.txt"
    if not file.exists():
        pytest.skip("datasets missing")
    chunks = split(load_file(file), chunk_size=600, chunk_overlap=100)
    chunk = next(c for c in chunks if len(c.text) > 500)
    windows = sentence_windows(chunk.text, 250)
    assert len(windows) >= 2
    assert all(w in chunk.text and len(w) <= 250 for w in windows)
    # Together they cover every sentence once, in order.
    assert [s for w in windows for s in sentences(w)] == sentences(chunk.text)


def test_sentence_windows_keep_long_sentences_tables_and_short_text_whole() -> None:
    long = "这是一个很长的句子，" * 40 + "结束。"
    assert sentence_windows(long + "短句。", 100) == [long, "短句。"]
    table = "| 名称 | 数量 |\n|---|---|\n" + "| 苹果 | 3 |\n" * 30
    assert sentence_windows(table, 100) == [table]
    assert sentence_windows("One. Two.", 250) == ["One. Two."]
    assert sentence_windows("One. " * 100, 0) == ["One. " * 100]
