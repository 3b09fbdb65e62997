"""Rich Text Format through striprtf: the text, paragraphs by blank lines."""

from __future__ import annotations

from pathlib import Path

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders.base import LoaderOptions
from chatkb.loaders.text import paragraphs
from chatkb.models import LoadedDocument


@register_loader(".rtf")
class RtfLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        from striprtf.striprtf import rtf_to_text  # type: ignore[import-untyped]

        raw = path.read_bytes()
        if not raw.lstrip().startswith(b"{\\rtf"):
            raise LoadError("not an RTF file (it does not start with '{\\rtf')")
        # RTF is 7-bit; non-ASCII text is escaped and decoded by the \ansicpg codepage.
        text: str = rtf_to_text(raw.decode("latin-1"), errors="replace")  # type: ignore[no-untyped-call]
        lines = (line.rstrip() for line in text.replace("\r\n", "\n").split("\n"))
        return LoadedDocument(tuple(paragraphs("\n\n".join(lines))), file_type="rtf")
