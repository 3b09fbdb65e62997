"""CSV and TSV in any common encoding: rows grouped into Markdown tables that repeat the header."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._encoding import decode_bytes
from chatkb.loaders._tables import table_blocks
from chatkb.loaders.base import LoaderOptions
from chatkb.models import LoadedDocument

_DELIMITERS = ",;\t|"
_MAX_FIELD_CHARS = 10 * 1024 * 1024
# Checked on the raw text before the csv module builds a row: a 50 MB line of commas would
# otherwise become 25 million cells (gigabytes of small strings) before anything could look.
MAX_COLUMNS = 10_000
MAX_CELLS = 2_000_000


@register_loader(".csv", ".tsv", ".tab")
class CsvLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        text = decode_bytes(path.read_bytes())
        suffix = path.suffix.lower()
        delimiter = "\t" if suffix in (".tsv", ".tab") else sniff_delimiter(text)
        rows = read_rows(text, delimiter)
        return LoadedDocument(tuple(table_blocks(rows)), file_type=suffix.lstrip("."))


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV sample; a comma when the sample is ambiguous."""
    try:
        return csv.Sniffer().sniff(text[: 64 * 1024], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def check_shape(text: str, delimiter: str) -> None:
    """Refuse a table too wide or too large to render, from delimiter counts per line."""
    cells = 0
    for number, line in enumerate(io.StringIO(text, newline=""), 1):
        columns = line.count(delimiter) + 1
        if columns > MAX_COLUMNS:
            raise LoadError(f"line {number} has over {MAX_COLUMNS:,} cells; not a readable table")
        cells += columns
        if cells > MAX_CELLS:
            raise LoadError(f"table has over {MAX_CELLS:,} cells; split it into smaller files")


def read_rows(text: str, delimiter: str) -> list[list[str]]:
    check_shape(text, delimiter)
    csv.field_size_limit(_MAX_FIELD_CHARS)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise LoadError(f"malformed CSV: {exc}") from None
