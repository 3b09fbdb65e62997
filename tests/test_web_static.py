"""The web UI's static files: offline by construction, complete, and fully translated.

No browser needed: these read the files the server mounts at ``/``.
"""

from __future__ import annotations

import re
from pathlib import Path

from chatkb.web import static_dir

STATIC = static_dir()
TEXT_SUFFIXES = {".html", ".js", ".css", ".svg"}
# XML namespace names are identifiers that browsers never fetch.
NAMESPACES = ("http://www.w3.org/2000/svg",)
URL = re.compile(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}", re.IGNORECASE)
IMPORT = re.compile(r"""(?:import|from)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""")
HTML_ASSET = re.compile(r"""(?:src|href)="([^"#:]+)\"""")


def text_files() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.suffix in TEXT_SUFFIXES)


def without_comments(text: str, suffix: str) -> str:
    """The code of a file with its comments (where licence and reference text lives) removed."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    if suffix == ".html":
        text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    if suffix in (".js", ".html"):
        text = re.sub(r"(?m)(?<![:\w\"'\\])//.*$", "", text)
    return text


def test_static_dir_holds_the_app() -> None:
    assert (STATIC / "index.html").is_file()
    assert (STATIC / "app.js").is_file()


def test_no_external_urls() -> None:
    found = []
    for path in text_files():
        code = without_comments(path.read_text(encoding="utf-8"), path.suffix)
        for namespace in NAMESPACES:
            code = code.replace(namespace, "")
        found += [f"{path.relative_to(STATIC)}: {m.group(0)}" for m in URL.finditer(code)]
    assert found == [], "the UI must not load anything from outside the server"


def test_every_import_and_asset_exists() -> None:
    missing = []
    for path in STATIC.rglob("*.js"):
        for target in IMPORT.findall(path.read_text(encoding="utf-8")):
            if not (path.parent / target).resolve().is_file():
                missing.append(f"{path.relative_to(STATIC)} imports {target}")
    index = (STATIC / "index.html").read_text(encoding="utf-8")
    for target in HTML_ASSET.findall(index):
        if not (STATIC / target).is_file():
            missing.append(f"index.html references {target}")
    assert missing == []


def _keys(path: Path) -> set[str]:
    return set(re.findall(r'^\s*"([\w.]+)":', path.read_text(encoding="utf-8"), flags=re.MULTILINE))


def test_every_string_is_translated() -> None:
    english = _keys(STATIC / "js" / "strings" / "en.js")
    chinese = _keys(STATIC / "js" / "strings" / "zh.js")
    assert english and english == chinese, english ^ chinese
    used = set()
    for path in STATIC.rglob("*.js"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", path.read_text(encoding="utf-8")))
    assert used - english == set(), "t() keys without an English string"
