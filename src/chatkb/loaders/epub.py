"""EPUB e-books through ebooklib: chapters in spine (reading) order, titles as headings."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders._encoding import decode_bytes
from chatkb.loaders._zipguard import check_zip
from chatkb.loaders.base import LoaderOptions
from chatkb.loaders.html import declared_charset, html_blocks
from chatkb.models import Block, LoadedDocument


@register_loader(".epub")
class EpubLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        check_zip(path, options, kind="EPUB")
        book = _open(path)
        titles = toc_titles(book.toc)
        blocks: list[Block] = []
        for idref, _linear in book.spine:
            item = book.get_item_with_id(idref)
            if item is not None:
                blocks.extend(_chapter_blocks(item, titles))
        metadata = book.get_metadata("DC", "title")
        title = str(metadata[0][0]) if metadata else None
        return LoadedDocument(tuple(blocks), file_type="epub", title=title)


def _open(path: Path) -> Any:
    from ebooklib import epub  # type: ignore[import-untyped]

    with warnings.catch_warnings():  # ebooklib warns about its own future defaults
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return epub.read_epub(str(path), options={"ignore_ncx": False})
        except (epub.EpubException, KeyError) as exc:
            raise LoadError(f"not a readable EPUB: {exc}") from None


def toc_titles(toc: Any) -> dict[str, str]:
    """File name (without #fragment) -> the first table-of-contents title pointing at it."""
    titles: dict[str, str] = {}
    for entry in toc:
        if isinstance(entry, tuple | list):  # (section, children)
            section, children = entry[0], entry[1]
            titles |= {k: v for k, v in toc_titles([section]).items() if k not in titles}
            titles |= {k: v for k, v in toc_titles(children).items() if k not in titles}
            continue
        href, title = getattr(entry, "href", None), getattr(entry, "title", None)
        if href and title:
            titles.setdefault(href.split("#")[0], str(title).strip())
    return titles


def _chapter_blocks(item: Any, titles: dict[str, str]) -> list[Block]:
    from ebooklib import ITEM_DOCUMENT

    if item.get_type() != ITEM_DOCUMENT:
        return []
    data = item.get_content()
    _title, blocks = html_blocks(decode_bytes(data, declared=declared_charset(data)))
    toc_title = titles.get(item.get_name())
    if toc_title and blocks and blocks[0].kind != "heading":
        blocks.insert(0, Block(toc_title, "heading", level=1))
    return blocks
