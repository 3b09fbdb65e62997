"""Formats without a dataset file (e-mail, notebooks, code, ODT, RTF, TSV), built in tmp_path."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from chatkb.loaders import load_file, supported
from chatkb.loaders._tables import table_blocks
from chatkb.loaders._titles import title_level
from chatkb.loaders.html import declared_charset


def test_every_issue_format_is_supported() -> None:
    expected = {
        ".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".pptx", ".xlsx", ".xls", ".csv",
        ".tsv", ".json", ".jsonl", ".epub", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff",
        ".webp", ".eml", ".odt", ".rtf", ".ipynb", ".py",
    }  # fmt: skip
    assert expected <= set(supported())


def test_eml_headers_body_and_text_attachments(tmp_path: Path) -> None:
    message = EmailMessage()
    message["From"] = "张三 <zhang@example.com>"
    message["To"] = "team@example.com"
    message["Subject"] = "季度报告 Q3"
    message.set_content("大家好，\n\n第三季度收入增长了百分之十二。\n")
    message.add_alternative("<p>HTML 版本</p>", subtype="html")
    message.add_attachment(b"note,value\nbudget,42\n", maintype="text", subtype="csv",
                           filename="budget.csv")  # fmt: skip
    message.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="x.png")
    path = tmp_path / "report.eml"
    path.write_bytes(bytes(message))
    document = load_file(path)
    assert document.title == "季度报告 Q3"
    assert document.blocks[0].kind == "heading"
    assert "From: 张三 <zhang@example.com>" in document.text
    assert "第三季度收入增长了百分之十二。" in document.text
    assert "HTML 版本" not in document.text  # the plain body is preferred
    assert "Attachment: budget.csv" in document.text and "budget,42" in document.text


def test_ipynb_markdown_and_code_cells(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# 数据分析\n", "\n", "读取数据。"]},
            {"cell_type": "code", "source": "print(1 + 1)",
             "outputs": [{"output_type": "stream", "text": ["2\n"]}]},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    blocks = load_file(path).blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "数据分析"),
        ("paragraph", "读取数据。"),
        ("code", "print(1 + 1)"),
        ("code", "2"),
    ]


def test_source_code_is_cut_at_top_level_definitions(tmp_path: Path) -> None:
    functions = [f"def f{n}(x):\n    '''Step {n}.'''\n    return x + {n}\n" for n in range(60)]
    path = tmp_path / "steps.py"
    path.write_text("\n\n".join(functions), encoding="utf-8")
    blocks = load_file(path).blocks
    assert len(blocks) > 3
    assert all(block.kind == "code" for block in blocks)
    assert all(block.text.startswith("def f") for block in blocks)
    assert "".join(b.text for b in blocks).count("def f") == 60


def test_odt_headings_lists_and_tables(tmp_path: Path) -> None:
    from odf.opendocument import OpenDocumentText  # type: ignore[import-untyped]
    from odf.table import Table, TableCell, TableColumn, TableRow  # type: ignore[import-untyped]
    from odf.text import H, List, ListItem, P  # type: ignore[import-untyped]

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="第一章 总则"))
    document.text.addElement(H(outlinelevel=2, text="Scope"))
    document.text.addElement(P(text="本办法适用于全体员工。"))
    items = List()
    for text in ("first item", "second item"):
        item = ListItem()
        item.addElement(P(text=text))
        items.addElement(item)
    document.text.addElement(items)
    table = Table(name="T")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for row_values in (("名称", "数量"), ("苹果", "3")):
        row = TableRow()
        for value in row_values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    path = tmp_path / "policy.odt"
    document.save(str(path))
    loaded = load_file(path)
    assert [(b.text, b.level) for b in loaded.blocks if b.kind == "heading"] == [
        ("第一章 总则", 1),
        ("Scope", 2),
    ]
    assert "- first item\n- second item" in loaded.text
    assert "| 名称 | 数量 |\n|---|---|\n| 苹果 | 3 |" in loaded.text


def test_rtf_with_a_chinese_codepage(tmp_path: Path) -> None:
    rtf = (
        rb"{\rtf1\ansi\ansicpg936\deff0{\fonttbl{\f0 SimSun;}}"
        rb"\f0 Hello \'c4\'e3\'ba\'c3 world\par\par Second paragraph\par}"
    )
    path = tmp_path / "note.rtf"
    path.write_bytes(rtf)
    text = load_file(path).text
    assert "Hello 你好 world" in text
    assert "Second paragraph" in text


def test_tsv_and_gbk_csv(tmp_path: Path) -> None:
    tsv = tmp_path / "people.tsv"
    tsv.write_text("name\tcity\nAda\tLondon\nLin\t上海\n", encoding="utf-8")
    assert load_file(tsv).text == "| name | city |\n|---|---|\n| Ada | London |\n| Lin | 上海 |"
    csv_path = tmp_path / "gbk.csv"
    csv_path.write_bytes("城市;人口\n北京;2189万\n广州;1868万\n".encode("gbk"))
    assert "| 北京 | 2189万 |" in load_file(csv_path).text


def test_declared_html_charset_is_honoured(tmp_path: Path) -> None:
    html = '<html><head><meta charset="big5"></head><body><h2>資訊科技</h2></body></html>'
    path = tmp_path / "big5.html"
    path.write_bytes(html.encode("big5"))
    assert declared_charset(path.read_bytes()) == "big5"
    block = load_file(path).blocks[0]
    assert (block.kind, block.text, block.level) == ("heading", "資訊科技", 2)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("第一章 绪论", 1),
        ("第三节 模型评估", 2),
        ("一、总体要求", 1),
        ("（二）适用范围", 2),
        ("1.2 基本术语", 2),
        ("2.2.1 验证集", 3),
        ("3 实验结果", 1),
        ("这是一个普通的句子，以句号结尾。", 0),
        ("1.2 基本术语。", 0),
        ("Chapter 1 Introduction", 0),
        ("第一章 这一行非常非常长以至于不可能是一个标题而应该是正文中的一句话吧", 0),
        ("2023年3月", 0),
    ],
)
def test_title_level(line: str, level: int) -> None:
    assert title_level(line) == level


def test_table_blocks_split_long_tables_and_repeat_the_header() -> None:
    rows = [["id", "text"]] + [[str(n), "x" * 50] for n in range(100)]
    blocks = table_blocks(rows, page=3, max_chars=500)
    assert len(blocks) > 5
    assert all(b.text.startswith("| id | text |\n|---|---|\n") for b in blocks)
    assert all(len(b.text) <= 500 and b.page == 3 and b.kind == "table" for b in blocks)
    body_rows = sum(len(b.text.splitlines()) - 2 for b in blocks)
    assert body_rows == 100


def test_table_blocks_escape_pipes_and_drop_empty_columns() -> None:
    (block,) = table_blocks([["a", "", "b|c"], ["1", "", "2\n3"]])
    assert block.text == "| a | b\\|c |\n|---|---|\n| 1 | 2 3 |"


def test_xlsx_merged_cells_repeat_down_their_rows(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "预算"
    sheet["A1"] = "2026 年度预算"
    sheet.merge_cells("A1:D1")  # a title across the table: stays one paragraph
    sheet.append(["部门", "项目", "金额", "备注"])
    for row in (
        ["研发部", "服务器", 120, "三年折旧"],
        [None, "软件许可", 45, None],
        [None, "培训", 8, None],
        ["市场部", "展会", 60, None],
        [None, "广告", 90, None],
    ):
        sheet.append(row)  # fmt: skip
    sheet.merge_cells("A3:A5")
    sheet.merge_cells("A6:A7")
    sheet.merge_cells("D3:D5")
    path = tmp_path / "budget.xlsx"
    workbook.save(path)
    document = load_file(path)
    assert [b.text for b in document.blocks if b.kind == "paragraph"] == ["2026 年度预算"]
    text = document.text
    assert "| 研发部 | 软件许可 | 45 | 三年折旧 |" in text
    assert "| 研发部 | 培训 | 8 | 三年折旧 |" in text
    assert "| 市场部 | 广告 | 90 |" in text
    assert "2026 年度预算 | 2026 年度预算" not in text
