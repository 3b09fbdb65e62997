"""Source code and configuration files: code blocks cut at top-level definitions."""

from __future__ import annotations

from pathlib import Path

from chatkb.loaders import register_loader
from chatkb.loaders.base import LoaderOptions
from chatkb.loaders.text import read_text
from chatkb.models import Block, LoadedDocument

SOURCE_EXTENSIONS = (
    ".py", ".pyi", ".js", ".mjs", ".jsx", ".ts", ".tsx", ".java", ".kt", ".scala", ".go",
    ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".swift", ".rb", ".php", ".lua", ".r",
    ".jl", ".sh", ".bash", ".ps1", ".sql", ".css", ".scss", ".vue", ".yaml", ".yml",
    ".toml", ".ini", ".cfg", ".conf", ".xml", ".proto", ".graphql", ".tex",
)  # fmt: skip
MAX_CODE_CHARS = 1500


@register_loader(*SOURCE_EXTENSIONS)
class CodeLoader:
    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        blocks = [Block(text, "code") for text in code_sections(read_text(path))]
        return LoadedDocument(tuple(blocks), file_type=path.suffix.lower().lstrip("."))


def code_sections(source: str, max_chars: int = MAX_CODE_CHARS) -> list[str]:
    """Pieces of ``source`` cut before unindented lines that follow a blank line (where
    top-level functions, classes and sections start), packed up to ``max_chars``."""
    sections: list[list[str]] = [[]]
    previous_blank = False
    for line in source.split("\n"):
        starts_top_level = previous_blank and line[:1] not in ("", " ", "\t", "}", ")", "]")
        size = sum(len(item) + 1 for item in sections[-1])
        if sections[-1] and ((starts_top_level and size > max_chars // 3) or size > max_chars):
            sections.append([])
        sections[-1].append(line)
        previous_blank = not line.strip()
    return [text for section in sections if (text := "\n".join(section).strip("\n"))]
