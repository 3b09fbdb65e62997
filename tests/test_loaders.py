"""Every loader on the real files of ``shared/datasets/docs``: facts, pages, tables, headings."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from _datasets import ManifestEntry, doc, manifest, squash
from chatkb.errors import LoadError
from chatkb.loaders import LoaderOptions, load_file, supported
from chatkb.models import Block, LoadedDocument

Loaded = Callable[[str], LoadedDocument]
ENTRIES = manifest()


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    """Loads each dataset file once per module: OCR of the scans takes tens of seconds."""
    cache: dict[str, LoadedDocument] = {}

    def load(name: str) -> LoadedDocument:
        if name not in cache:
            cache[name] = load_file(doc(name))
        return cache[name]

    return load


def _tables(document: LoadedDocument) -> list[Block]:
    return [block for block in document.blocks if block.kind == "table"]


def _headings(document: LoadedDocument) -> dict[str, int]:
    return {block.text: block.level for block in document.blocks if block.kind == "heading"}


def test_manifest_is_found() -> None:
    if not ENTRIES:
        pytest.skip("datasets not found (set CHATKB_DATASETS)")
    assert len(ENTRIES) >= 30


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.file for entry in ENTRIES])
def test_every_fact_is_in_the_extracted_text(entry: ManifestEntry, loaded: Loaded) -> None:
    assert entry.path.suffix.lower() in supported()
    text = squash(loaded(entry.file).text)
    missing = [fact for fact in entry.facts if squash(fact) not in text]
    assert not missing, f"{entry.file}: facts not extracted: {missing}"


@pytest.mark.parametrize(
    ("name", "pages"),
    [
        ("en_text_layout_parser_paper.pdf", 2),
        ("en_text_amt_handbook_sample.pdf", 1),
        ("zh_text_pumpkin_book_excerpt.pdf", 11),
        ("zh_scanned_small_ocr.pdf", 8),
        ("en_scanned_image.pdf", 1),
    ],
)
def test_pdf_blocks_carry_their_page(name: str, pages: int, loaded: Loaded) -> None:
    blocks = loaded(name).blocks
    assert all(block.page is not None for block in blocks)
    assert {block.page for block in blocks} == set(range(1, pages + 1))


def test_pdf_text_is_in_page_order_and_ligatures_expanded(loaded: Loaded) -> None:
    document = loaded("en_text_layout_parser_paper.pdf")
    assert "Unified Toolkit" in document.text
    pages = [block.page or 0 for block in document.blocks]
    assert pages == sorted(pages)


def test_pptx_one_page_per_slide_with_titles_as_headings(loaded: Loaded) -> None:
    document = loaded("en_sample_presentation.pptx")
    assert {block.page for block in document.blocks} == {1, 2, 3, 4}
    headings = [(b.page, b.text) for b in document.blocks if b.kind == "heading"]
    assert (2, "This is the first content slide") in headings
    assert (4, "This is kinda backwards, huh?") in headings


def test_pptx_table_and_notes(loaded: Loaded) -> None:
    document = loaded("zh_en_mineru_demo.pptx")
    assert any(block.page == 1 for block in _tables(document))
    assert "Notes: Some notes on the second slide." in document.text
    table = _tables(loaded("en_sample_presentation.pptx"))[0]
    assert table.text.splitlines()[:2] == ["| Table | A | B | C |", "|---|---|---|---|"]


def test_docx_table_is_markdown_in_document_order(loaded: Loaded) -> None:
    document = loaded("en_table_word_sample.docx")
    (table,) = _tables(document)
    lines = table.text.splitlines()
    assert lines[0] == "|  | Food | Calories per portion |"
    assert lines[1] == "|---|---|---|"
    assert "| Leaves | Ash, Elm, Maple | 50 |" in lines
    texts = [block.text for block in document.blocks]
    before = texts.index("Here are some interesting things a respectful duck could eat:")
    assert texts.index(table.text) == before + 1


def test_docx_merged_and_nested_cells(loaded: Loaded) -> None:
    tables = [block.text for block in _tables(loaded("en_tables_merged_cells.docx"))]
    assert tables[0].startswith("| Header Col 1 | Header Col 2 |\n|---|---|")
    assert tables[2] == "| a | b | b |\n|---|---|---|\n| a | c | d |\n| e | e | d |"
    assert "| d | e; f g&t; h | i |" in tables[1]  # the nested table flattened into its cell


def test_docx_headings_and_lists(loaded: Loaded) -> None:
    document = loaded("en_table_word_sample.docx")
    headings = _headings(document)
    assert headings["Swimming in the lake"] == 1
    assert headings["Let’s eat"] == 2
    assert "- Paddle about\n- Enjoy summer warmth" in document.text
    assert _headings(loaded("zh_en_mineru_demo.docx"))["有序列表构成的章节标题"] == 1


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("zh_table_ocr_test.docx", "| 我是表格1 | 我是表格2 |"),
        ("zh_table_ocr_test.pptx", "| 我是表格1 | 我是表格5 |"),
        ("en_stanley_cups.xlsx", "| Team | Location | Stanley Cups |"),
        ("en_csv_comma.csv", "| Index | Customer Id | First Name | Last Name | Company |"),
    ],
)
def test_tables_come_out_as_markdown(name: str, header: str, loaded: Loaded) -> None:
    tables = _tables(loaded(name))
    assert tables
    assert all(table.text.splitlines()[1].startswith("|---|") for table in tables)
    assert any(table.text.startswith(header) for table in tables)


@pytest.mark.parametrize(
    "name", ["zh_langchain_chatglm_issues.csv", "zh_langchain_chatglm_issues.xlsx"]
)
def test_long_tables_repeat_their_header_in_every_block(name: str, loaded: Loaded) -> None:
    tables = _tables(loaded(name))
    assert len(tables) > 5
    header = tables[0].text.splitlines()[0]
    assert "title" in header and "detail" in header
    assert all(table.text.splitlines()[0] == header for table in tables)


def test_xlsx_sheets_are_pages_with_their_names_as_headings(loaded: Loaded) -> None:
    document = loaded("en_stanley_cups.xlsx")
    headings = [(b.page, b.text) for b in document.blocks if b.kind == "heading"]
    assert headings == [(1, "Stanley Cups"), (2, "Stanley Cups Since 67")]
    assert all(block.page in (1, 2) for block in document.blocks)
    assert "| Maple Leafs | TOR | 13 |" in document.text


def test_gbk_text_decodes(loaded: Loaded) -> None:
    text = loaded("zh_gbk_cpython_cjkencodings.txt").text
    assert "\ufffd" not in text
    assert "在資訊科技快速發展的今天" in text


def test_undeclared_gb2312_html_decodes(loaded: Loaded) -> None:
    assert b"charset" not in doc("zh_gb2312_sohu_fragment.html").read_bytes().lower()
    text = loaded("zh_gb2312_sohu_fragment.html").text
    assert "\ufffd" not in text
    assert "搜狐在线" in text and "拨95933上网魔力宝贝免费玩" in text


def test_html_keeps_headings_and_tables_and_drops_navigation(loaded: Loaded) -> None:
    document = loaded("en_wiki_duck.html")
    headings = _headings(document)
    assert headings["Duck"] == 1
    assert headings["Etymology"] == 2
    assert document.title == "Duck - Wikipedia"
    assert any("| Kingdom: | Animalia |" in table.text for table in _tables(document))
    for boilerplate in ("Jump to content", "Main page", "136 languages", "Afrikaans"):
        assert boilerplate not in document.text


def test_html_data_tables_become_markdown(loaded: Loaded) -> None:
    tables = _tables(loaded("en_sec_10k_1p.html"))
    assert any(
        table.text.startswith("| Title of each class | Trading symbol |") for table in tables
    )


def test_markdown_headings(loaded: Loaded) -> None:
    headings = _headings(loaded("zh_readme_langchain_chatchat.md"))
    assert headings["项目里程碑"] >= 2
    assert _headings(loaded("en_wiki_ibm.md"))


def test_epub_chapters_in_reading_order_with_title_headings(loaded: Loaded) -> None:
    document = loaded("en_purvis_poetry.epub")
    assert document.title == "Poetry"
    headings = [b.text for b in document.blocks if b.kind == "heading"]
    assert headings.index("The Grave of the Slave") < headings.index("Colophon")
    winter = _headings(loaded("en_winter_sports.epub"))
    assert "CHAPTER I THE SUN-SEEKER" in winter


def test_jsonl_gives_one_block_per_record(loaded: Loaded) -> None:
    document = loaded("zh_rgb_fact.jsonl")
    assert len(document.blocks) == 100
    assert document.blocks[0].text.startswith("id: 0\nquery: 香港第六届立法会选举有多少个议席？")


def test_json_text_fields_keep_their_keys(loaded: Loaded) -> None:
    blocks = loaded("en_unstructured_elements.json").blocks
    assert "text: News Around NOAA" in blocks[0].text.splitlines()
    assert "element_id" not in blocks[0].text  # hashes carry nothing searchable


def test_pdf_pictures_above_the_share_are_ocred() -> None:
    path = doc("zh_mixed_text_and_image.pdf")
    default = load_file(path)
    assert squash(default.text) == "我是文字"  # the picture covers ~5% of the page
    every_picture = load_file(path, LoaderOptions(ocr_image_share=0.01))
    assert "横向文本框" in every_picture.text
    assert all(block.page == 1 for block in every_picture.blocks)


def test_scanned_pdf_without_ocr_says_so() -> None:
    with pytest.raises(LoadError, match="no text layer"):
        load_file(doc("en_scanned_image.pdf"), LoaderOptions(ocr=False))


def test_a_scan_longer_than_the_ocr_cap_fails_after_the_cap(tmp_path: Path) -> None:
    """Pages without a text layer count as needing OCR (blank ones too, which OCR then
    skips): 6 of them against a cap of 2 fail once the third is reached, saying which
    setting to raise, instead of running on."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(6):
        writer.add_blank_page(width=612, height=792)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as out:
        writer.write(out)
    with pytest.raises(LoadError, match=r"more than 2 pages \(loading.max_ocr_pages\)"):
        load_file(path, LoaderOptions(max_ocr_pages=2))
    with pytest.raises(LoadError, match="no text could be extracted"):  # under the cap: read
        load_file(path, LoaderOptions(max_ocr_pages=6))


def test_images_without_ocr_say_so() -> None:
    with pytest.raises(LoadError, match="OCR, which is turned off"):
        load_file(doc("zh_image_textbox.jpg"), LoaderOptions(ocr=False))


def test_ocr_runs_with_the_network_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OCR models ship in the wheel: building the engine and reading must not connect."""
    from chatkb.loaders import _ocr

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("OCR tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(_ocr, "_engine", None)
    document = load_file(doc("zh_image_textbox.jpg"))
    assert "横向文本框" in document.text and "竖向文本框" in document.text


def test_transparent_png_is_flattened_onto_white() -> None:
    from PIL import Image

    from chatkb.loaders._ocr import flatten

    with Image.open(doc("zh_image_transparent_text.png")) as image:
        assert image.mode in ("RGBA", "LA", "P")
        flat = flatten(image)
    assert flat.mode == "RGB"
    assert flat.getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize("name", ["zh_text_pumpkin_book_excerpt.pdf"])
def test_zh_title_enhance_turns_numbered_lines_into_headings(name: str) -> None:
    plain = load_file(doc(name))
    enhanced = load_file(doc(name), LoaderOptions(zh_title_enhance=True))
    assert "1.2 基本术语" not in _headings(plain)
    headings = _headings(enhanced)
    assert headings["1.2 基本术语"] == 2
    assert headings["2.2.1 算法参数（超参数）与模型参数"] == 3
    assert squash(enhanced.text) == squash(plain.text)


def test_zh_title_enhance_on_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    body = "第一章 总则\n\n本办法适用于全体员工。\n\n一、适用范围\n\n这是一个很长的句子，不是标题。"
    path.write_text(body, encoding="utf-8")
    assert not _headings(load_file(path))
    headings = _headings(load_file(path, LoaderOptions(zh_title_enhance=True)))
    assert headings == {"第一章 总则": 1, "一、适用范围": 1}
