"""Excel workbooks: .xlsx through openpyxl, legacy .xls through xlrd; every sheet a page."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._tables import table_blocks
from chatkb.loaders._zipguard import check_zip
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

_MAX_CELLS = 5_000_000  # per workbook; a sheet claiming more is refused
_Range = tuple[int, int, int, int]  # first column, first row, last column, last row
# <mergeCell ref="A3:A5"/>, with or without a namespace prefix; whole rows or columns
# ("A:A") are not cell ranges and are left out.
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


@register_loader(".xlsx", ".xlsm")
class XlsxLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        check_zip(path, options, kind="XLSX")
        workbook = _open_xlsx(path)
        try:
            sheets = [
                (ws.title, _fill_merged(_xlsx_rows(ws), _merged(ws))) for ws in workbook.worksheets
            ]
        finally:
            workbook.close()
        return LoadedDocument(tuple(workbook_blocks(sheets)), file_type="xlsx")


@register_loader(".xls")
class XlsLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        import xlrd  # type: ignore[import-untyped]

        try:
            book = xlrd.open_workbook(str(path), on_demand=True)
        except xlrd.XLRDError as exc:
            raise LoadError(f"not a readable Excel .xls file: {exc}") from None
        try:
            sheets = [(sheet.name, _xls_rows(book, sheet)) for sheet in book.sheets()]
        finally:
            book.release_resources()
        return LoadedDocument(tuple(workbook_blocks(sheets)), file_type="xls")


def _open_xlsx(path: Path) -> Any:
    from openpyxl import load_workbook  # type: ignore[import-untyped,unused-ignore]

    try:
        with warnings.catch_warnings():  # unsupported extensions, missing default styles...
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            return load_workbook(str(path), read_only=True, data_only=True)
    except (KeyError, ValueError, OSError) as exc:
        raise LoadError(f"not a readable Excel .xlsx file: {exc}") from None


def _xlsx_rows(worksheet: Any) -> list[list[str]]:
    """Rows as text, read as a stream so that a sheet claiming millions of cells is refused
    before they are all in memory."""
    rows: list[list[str]] = []
    cells = 0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        for row in worksheet.iter_rows(values_only=True):
            cells += max(len(row), 1)
            if cells > _MAX_CELLS:
                raise LoadError(f"sheet {worksheet.title!r} has over {_MAX_CELLS} cells")
            rows.append([value_text(value) for value in row])
    return rows


def _merged(worksheet: Any) -> set[_Range]:
    """The sheet's merged ranges as (first column, first row, last column, last row), 1-based.

    Read-only mode (needed to stream large sheets) does not expose them, so the sheet's XML
    is scanned for its ``mergeCell`` elements: a byte search, since parsing the XML again
    would add a fifth to the time of reading the cells. A sheet without that stream has none.
    """
    from openpyxl.utils.cell import range_boundaries  # type: ignore[import-untyped,unused-ignore]

    source = getattr(worksheet, "_get_source", None)
    if source is None:
        return set()
    refs: set[bytes] = set()
    try:
        with source() as stream:
            tail = b""
            while block := stream.read(1 << 20):
                # The tail repeats across blocks so an element cut in two is still found;
                # one found twice lands once in the set.
                data = tail + block
                refs.update(m.group(1) for m in _MERGE_REF.finditer(data))
                tail = data[-256:]
    except (OSError, KeyError, ValueError):
        return set()  # the cells were readable; only the merge information is lost
    # Cell-to-cell references (the pattern's only kind) have all four bounds.
    return {cast(_Range, range_boundaries(ref.decode("ascii"))) for ref in refs}


def _fill_merged(rows: list[list[str]], ranges: Iterable[_Range]) -> list[list[str]]:
    """Repeat a merged cell's value down the rows it spans (a department name merged over
    its ten rows), so that each row reads whole on its own. Only its first column: filling
    across would turn a title merged over the table's width into a row of copies."""
    for first_col, first_row, _, last_row in ranges:
        top = first_row - 1
        if top >= len(rows) or first_col - 1 >= len(rows[top]):
            continue
        value = rows[top][first_col - 1]
        for row in rows[first_row : min(last_row, len(rows))]:
            row.extend([""] * (first_col - len(row)))
            if not row[first_col - 1].strip():
                row[first_col - 1] = value
    return rows


def _xls_rows(book: Any, sheet: Any) -> list[list[str]]:
    import xlrd

    if sheet.nrows * sheet.ncols > _MAX_CELLS:
        raise LoadError(f"sheet {sheet.name!r} has over {_MAX_CELLS} cells")
    rows: list[list[str]] = []
    for index in range(sheet.nrows):
        row: list[str] = []
        for cell in sheet.row(index):
            value = cell.value
            if cell.ctype == xlrd.XL_CELL_DATE:
                value = xlrd.xldate.xldate_as_datetime(value, book.datemode)
            row.append(value_text(value))
        rows.append(row)
    return rows


def value_text(value: object) -> str:
    """A cell value as people read it: 12 not 12.0, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def workbook_blocks(sheets: Iterable[tuple[str, list[list[str]]]]) -> list[Block]:
    """Per sheet (page = 1-based sheet index): its name as a heading, title lines, tables."""
    blocks: list[Block] = []
    for number, (name, rows) in enumerate(sheets, 1):
        content = sheet_blocks(rows, page=number)
        if content:
            blocks.append(Block(name, "heading", page=number, level=1))
            blocks.extend(content)
    return blocks


def sheet_blocks(rows: Sequence[Sequence[str]], *, page: int) -> list[Block]:
    """Rows with a single filled cell above a table (titles, notes) become paragraphs.

    Blank rows inside a table do not end it (spacing rows are common); after a blank row,
    a single-cell row (a title) or a row that starts like the header (a repeated layout,
    e.g. this year's figures, then last year's) starts a new table.
    """
    blocks: list[Block] = []
    table: list[Sequence[str]] = []
    after_blank = False
    for row in rows:
        filled = [cell.strip() for cell in row if cell.strip()]
        if table and after_blank and _same_start(row, table[0]):
            blocks.extend(table_blocks(table, page=page))
            table = []
        if len(filled) >= 2 or (table and filled and not after_blank):
            table.append(row)
        elif filled:
            blocks.extend(table_blocks(table, page=page))
            table = []
            blocks.append(Block(filled[0], page=page))
        after_blank = not filled
    blocks.extend(table_blocks(table, page=page))
    return blocks


def _same_start(row: Sequence[str], header: Sequence[str]) -> bool:
    return bool(row and header and row[0].strip() and row[0].strip() == header[0].strip())
