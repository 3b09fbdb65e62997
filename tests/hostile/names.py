"""Hostile file names with good content, truncated copies of real documents, wrong extensions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hostile._base import ANY, GOOD, Hostile

BODY = b"Hostile names must not stop a good document from going in.\n" * 5


def kinds() -> Iterator[Hostile]:
    for name in (
        "-rf.txt",
        "--help.md",
        "space  and\ttab.txt",
        "quote'\"`$(id).txt",
        "semi;colon&amp.md",
        "percent%2e%2e%2fup.txt",
        "back\\slash.txt",
        "new\nline.txt",
        "\u202egpj.exe.txt",
        "emoji-\U0001f4a5.md",
        "nfc-caf\u00e9.txt",
        "nfd-cafe\u0301.txt",
        "中文名字.txt",
        "x" * 240 + ".txt",
        "trailing-dot..txt",
        "UPPER.TXT",
        "<script>alert(1)<%2Fscript>.md",
        "CON.txt",
        "null%00byte.txt",
    ):
        yield Hostile(name, BODY, GOOD)


def truncated_copies(docs: Path) -> Iterator[Hostile]:
    """Every dataset document cut in half (binary formats then fail; text ones may go in)."""
    for path in sorted(docs.iterdir()):
        if path.name == "MANIFEST.tsv" or path.stat().st_size > 3 * 1024 * 1024:
            continue
        data = path.read_bytes()
        yield Hostile(f"cut-{path.stem}{path.suffix}", data[: len(data) // 2], ANY)


def wrong_extensions(docs: Path) -> Iterator[Hostile]:
    """Real documents under another format's extension."""
    swaps = {
        ".pdf": ".docx",
        ".docx": ".pdf",
        ".xlsx": ".pptx",
        ".pptx": ".epub",
        ".epub": ".xlsx",
        ".png": ".txt",
        ".jpg": ".pdf",
        ".csv": ".json",
        ".md": ".rtf",
        ".txt": ".png",
    }
    for path in sorted(docs.iterdir()):
        swap = swaps.get(path.suffix)
        if swap is None or path.stat().st_size > 3 * 1024 * 1024:
            continue
        yield Hostile(f"as{swap[1:]}-{path.stem}{swap}", path.read_bytes(), ANY)
