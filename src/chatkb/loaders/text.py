"""Plain text, Markdown and reStructuredText, in any common encoding."""

from __future__ import annotations

import re
from pathlib import Path

from chatkb.loaders import register_loader
from chatkb.loaders._encoding import decode_bytes
from chatkb.loaders._titles import enhance_titles
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u3000]*\n")
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_MD_FENCE = re.compile(r"^(```|~~~)")


def read_text(path: Path) -> str:
    text = decode_bytes(path.read_bytes())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def paragraphs(text: str) -> list[Block]:
    """Blocks separated by blank lines, with outer whitespace stripped."""
    return [Block(part.strip()) for part in _PARAGRAPH_BREAK.split(text) if part.strip()]


@register_loader(".txt", ".text", ".log", ".rst")
class TextLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        blocks = paragraphs(read_text(path))
        if options.zh_title_enhance:
            blocks = enhance_titles(blocks)
        return LoadedDocument(tuple(blocks), file_type=path.suffix.lower().lstrip("."))


@register_loader(".md", ".markdown")
class MarkdownLoader:
    """Markdown: ``#`` headings become heading blocks; fenced code stays one block."""

    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        blocks = markdown_blocks(read_text(path))
        title = next((b.text for b in blocks if b.kind == "heading"), None)
        return LoadedDocument(tuple(blocks), file_type="md", title=title)


def markdown_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    buffer: list[str] = []
    in_fence = False

    def flush() -> None:
        if in_fence:
            blocks.append(Block("\n".join(buffer).strip(), kind="code"))
        else:
            blocks.extend(_classify(b) for b in paragraphs("\n".join(buffer)))
        buffer.clear()

    for line in text.split("\n"):
        if _MD_FENCE.match(line.strip()):
            if not in_fence:
                flush()
                in_fence, buffer[:] = True, [line]
            else:
                buffer.append(line)
                flush()
                in_fence = False
            continue
        heading = None if in_fence else _MD_HEADING.match(line.strip())
        if heading:
            flush()
            blocks.append(Block(heading.group(2).strip(), "heading", level=len(heading.group(1))))
        else:
            buffer.append(line)
    flush()
    return [b for b in blocks if b.text]


def _classify(block: Block) -> Block:
    lines = block.text.split("\n")
    is_table = len(lines) >= 2 and all(line.strip().startswith("|") for line in lines)
    return Block(block.text, kind="table") if is_table else block
