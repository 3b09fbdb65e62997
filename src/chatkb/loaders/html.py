"""HTML pages: the main content without navigation boilerplate, headings and tables kept."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._encoding import decode_bytes
from chatkb.loaders._tables import table_blocks
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

if TYPE_CHECKING:
    from bs4 import Tag

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")

_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "nav", "aside",
    "form", "button", "input", "select", "textarea", "head", "footer", "dialog",
)  # fmt: skip
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu"}
_DROP_CLASSES = {
    "navbox", "vertical-navbox", "mw-editsection", "catlinks", "mw-jump-link", "printfooter",
    "toc", "vector-toc", "sidebar", "breadcrumb", "breadcrumbs", "cookie-banner", "reflist",
    "mw-references-wrap", "mw-cite-backlink", "navigation-not-searchable", "skip-link",
    "vector-dropdown", "vector-menu", "mw-portlet", "vector-page-toolbar", "mw-indicators",
}  # fmt: skip
_MAIN_SELECTORS = ("main", "[role=main]", "article", "#mw-content-text", "#content")
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "figure", "figcaption", "address", "center", "fieldset", "details",
    "summary", "hr", "tr", "td", "th", "tbody", "thead", "caption", "body", "html",
}  # fmt: skip


def declared_charset(data: bytes) -> str | None:
    """The charset named by a ``<meta>`` tag or an XML declaration near the top, if any."""
    head = data[:4096]
    match = _XML_ENCODING.search(head) or _CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


@register_loader(".html", ".htm", ".xhtml")
class HtmlLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        data = path.read_bytes()
        text = decode_bytes(data, declared=declared_charset(data))
        title, blocks = html_blocks(text)
        return LoadedDocument(tuple(blocks), file_type="html", title=title)


MAX_TAGS = 500_000  # a long real page has tens of thousands; parsing a million takes minutes


def html_blocks(markup: str) -> tuple[str | None, list[Block]]:
    """Parse ``markup`` into (title, blocks) of its main content."""
    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    if markup.count("<") > MAX_TAGS:  # counted before the parser builds a tree of them
        raise LoadError(f"HTML has over {MAX_TAGS:,} tags; too large to read")

    with warnings.catch_warnings():  # XHTML (e.g. SEC filings) is read as HTML on purpose
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(markup, "lxml")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    _drop_boilerplate(soup)
    root = _main_content(soup)
    builder = _BlockBuilder()
    try:
        builder.walk(root)
    except RecursionError:
        raise LoadError("HTML is nested too deeply to read") from None
    builder.flush()
    first_heading = next((b.text for b in builder.blocks if b.kind == "heading"), None)
    return title or first_heading, builder.blocks


MAX_DEPTH = 400  # real pages nest a few dozen levels; deeper is a hostile file


def _drop_boilerplate(soup: Tag) -> None:
    """One pass over the tree: boilerplate subtrees are cut without being searched, and a
    tree nested deeper than ``MAX_DEPTH`` is refused (every later step is then linear)."""
    from bs4.element import Tag

    dropped: list[Tag] = []
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        tag, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise LoadError(f"HTML is nested too deeply to read (over {MAX_DEPTH} levels)")
        for child in tag.contents:
            if not isinstance(child, Tag):
                continue
            if _is_boilerplate(child):
                dropped.append(child)
            else:
                stack.append((child, depth + 1))
    for tag in dropped:  # disjoint subtrees: none lies inside another
        tag.decompose()


def _is_boilerplate(tag: Tag) -> bool:
    if tag.name in _DROP_TAGS:
        return True
    if not tag.attrs:
        return False
    classes = set(tag.get_attribute_list("class"))
    return tag.get("role") in _DROP_ROLES or bool(classes & _DROP_CLASSES) or "hidden" in tag.attrs


def _main_content(soup: Tag) -> Tag:
    for selector in _MAIN_SELECTORS:
        found = soup.select(selector)
        if len(found) == 1 and found[0].get_text(strip=True):
            return found[0]
    return soup.body or soup


class _BlockBuilder:
    """Walks the DOM: inline text accumulates, block elements flush it into a block."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._parts: list[str] = []

    def flush(self) -> None:
        lines = (_SPACES.sub(" ", line).strip() for line in "".join(self._parts).split("\n"))
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(Block(text))
        self._parts.clear()

    def walk(self, node: Tag) -> None:
        from bs4.element import NavigableString, Tag

        for child in node.children:
            if type(child) is NavigableString:
                self._parts.append(str(child).replace("\n", " "))
            elif isinstance(child, Tag):
                self._element(child)

    def _element(self, tag: Tag) -> None:
        name = tag.name
        if name in _HEADINGS:
            self.flush()
            if text := " ".join(tag.get_text(" ").split()):
                self.blocks.append(Block(text, "heading", level=_HEADINGS[name]))
        elif name == "table":
            self.flush()
            self._table(tag)
        elif name == "pre":
            self.flush()
            if code := tag.get_text().strip("\n"):
                self.blocks.append(Block(code, "code"))
        elif name == "br":
            self._parts.append("\n")
        elif name == "li":
            self._list_item(tag)
        elif name in _BLOCK_TAGS:
            self.flush()
            self.walk(tag)
            self.flush()
        else:
            self.walk(tag)

    def _list_item(self, item: Tag) -> None:
        self.flush()
        first = len(self.blocks)
        self.walk(item)
        self.flush()
        if first < len(self.blocks) and self.blocks[first].kind == "paragraph":
            self.blocks[first] = Block("- " + self.blocks[first].text)

    def _table(self, table: Tag) -> None:
        if table.find("table") is not None:  # a layout table: read its cells as text
            self.walk(table)
            self.flush()
            return
        caption = table.find("caption")
        if caption is not None and (text := caption.get_text(" ", strip=True)):
            self.blocks.append(Block(text))
        self.blocks.extend(table_blocks(_table_grid(table)))


def _table_grid(table: Tag) -> list[list[str]]:
    """Cells by row, with ``colspan``/``rowspan`` cells repeated into every slot they cover."""
    grid: list[list[str]] = []
    pending: dict[tuple[int, int], str] = {}  # (row, col) slots filled by a rowspan above
    for r, row in enumerate(table.find_all("tr")):
        cells: list[str] = []
        for cell in row.find_all(["td", "th"], recursive=False):
            while (r, len(cells)) in pending:
                cells.append(pending.pop((r, len(cells))))
            text = cell.get_text(" ", strip=True)
            colspan, rowspan = _span(cell.get("colspan")), _span(cell.get("rowspan"))
            for _ in range(colspan):
                for below in range(1, rowspan):
                    pending[(r + below, len(cells))] = text
                cells.append(text)
        while (r, len(cells)) in pending:
            cells.append(pending.pop((r, len(cells))))
        grid.append(cells)
    return grid


def _span(value: object) -> int:
    try:
        return max(1, min(int(str(value)), 100))
    except ValueError:
        return 1
