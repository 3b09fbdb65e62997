"""Import directions chatkb keeps, read from the source with ``ast`` (no import runs).

Each rule is an arrow that must not exist: shared code lives in a service module that both
sides import, never in one side that the other reaches into.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "chatkb"


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, absolute names."""
    package = _module(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def _offenders(files: list[Path], forbidden: str) -> list[str]:
    return [
        f"{_module(path)} imports {name}"
        for path in files
        for name in sorted(_imports(path))
        if name == forbidden or name.startswith(forbidden + ".")
    ]


def test_the_rules_see_real_imports() -> None:
    # Guards the reader itself: a rule that sees nothing would pass for the wrong reason.
    assert "chatkb.server.deps" in _imports(PACKAGE / "server" / "routes" / "kbs.py")
    assert "chatkb.doctor.render" in _imports(PACKAGE / "server" / "hardware.py")


def test_no_router_imports_another_router() -> None:
    routes = [p for p in _files("server/routes") if p.name != "__init__.py"]
    assert routes
    offenders = [
        f"{_module(path)} imports {name}"
        for path in routes
        for name in _imports(path)
        if name.startswith("chatkb.server.routes.") and not name.startswith(_module(path))
    ]
    assert offenders == []


@pytest.mark.parametrize("folder", ["llm", "embedders", "rerankers", "store", "loaders"])
def test_model_and_storage_code_does_not_import_the_doctor(folder: str) -> None:
    assert _offenders(_files(folder), "chatkb.doctor") == []


def test_the_doctor_report_does_not_import_its_renderer() -> None:
    assert _offenders([PACKAGE / "doctor" / "report.py"], "chatkb.doctor.render") == []


@pytest.mark.parametrize("folder", ["llm", "store", "loaders", "embedders", "doctor"])
def test_the_core_does_not_import_the_server_or_the_cli(folder: str) -> None:
    files = _files(folder)
    assert _offenders(files, "chatkb.server") == []
    assert _offenders(files, "chatkb.cli") == []
