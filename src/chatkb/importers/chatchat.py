"""``chatkb import chatchat``: Chatchat's knowledge bases, re-made with chatkb's pipeline.

Names and descriptions (``kb_info``) come from info.db; the originals under each KB's
``content/`` go through chatkb's own ingest, so vectors are made by chatkb's embedder
(Chatchat's vector stores are not read: their embedder differs). Ingest is content-hashed
and commits per file, so running the import again after a kill skips what is in and
finishes the rest, without duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from chatkb.errors import ChatkbError
from chatkb.importers.chatchat_root import ChatchatFile, ChatchatKB, chatkb_name, read_root
from chatkb.ingest import FileOutcome, Progress, SourceFile, ingest
from chatkb.kb import KnowledgeBase, Library
from chatkb.settings import Settings

FileStatus = Literal["imported", "skipped", "failed"]
_STATUSES: tuple[FileStatus, ...] = ("imported", "skipped", "failed")
NOT_LISTED = "not in info.db, so Chatchat does not list it (use --all-files to import it)"


@dataclass(frozen=True)
class ImportedFile:
    source: str
    status: FileStatus
    reason: str | None = None
    chunks: int = 0

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ImportedKB:
    name: str | None
    chatchat_name: str
    description: str
    created: bool = False
    error: str | None = None
    files: list[ImportedFile] = field(default_factory=list)

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)

    def to_json(self) -> dict[str, object]:
        counts: dict[str, object] = {status: self.count(status) for status in _STATUSES}
        return {
            "name": self.name,
            "chatchat_name": self.chatchat_name,
            "description": self.description,
            "created": self.created,
            **({"error": self.error} if self.error else {}),
            **counts,
            "files": [f.to_json() for f in self.files],
        }


@dataclass
class ImportReport:
    root: Path
    knowledge_bases: list[ImportedKB] = field(default_factory=list)

    def count(self, status: FileStatus) -> int:
        return sum(kb.count(status) for kb in self.knowledge_bases)

    @property
    def failed(self) -> bool:
        return any(kb.error or kb.count("failed") for kb in self.knowledge_bases)

    def to_json(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            **{status: self.count(status) for status in _STATUSES},
            "knowledge_bases": [kb.to_json() for kb in self.knowledge_bases],
        }


@dataclass(frozen=True)
class ImportOptions:
    renames: Mapping[str, str] = field(default_factory=dict)  # Chatchat name -> chatkb name
    only: frozenset[str] = frozenset()  # Chatchat names to import; empty = all
    all_files: bool = False
    embedder: str | None = None


def import_chatchat(
    library: Library,
    path: Path,
    options: ImportOptions,
    *,
    progress: Callable[[], Progress] = Progress,
    should_stop: Callable[[], bool] = lambda: False,
) -> ImportReport:
    """Import every knowledge base of the Chatchat root at ``path``; each file, and each
    knowledge base, fails on its own."""
    root = read_root(path)
    report = ImportReport(root.root)
    taken: dict[str, str] = {}
    for source_kb in root.knowledge_bases:
        if options.only and source_kb.chatchat_name not in options.only:
            continue
        if should_stop():
            break
        result = ImportedKB(None, source_kb.chatchat_name, source_kb.description)
        report.knowledge_bases.append(result)
        try:
            result.name = _target_name(source_kb.chatchat_name, options.renames, taken)
            kb = _open_or_create(library, result, options.embedder)
        except ChatkbError as exc:
            result.error = exc.message
            continue
        _import_files(
            kb, library.settings, source_kb, options.all_files, result, progress(), should_stop
        )
    return report


def _target_name(chatchat_name: str, renames: Mapping[str, str], taken: dict[str, str]) -> str:
    name = renames.get(chatchat_name) or chatkb_name(chatchat_name)
    other = taken.get(name.lower())
    if other is not None:
        raise ChatkbError(
            f"Chatchat knowledge bases {other!r} and {chatchat_name!r} both map to {name!r}; "
            "give one another name with --rename 'OLD=NEW'"
        )
    taken[name.lower()] = chatchat_name
    return name


def _open_or_create(library: Library, result: ImportedKB, embedder: str | None) -> KnowledgeBase:
    """The existing knowledge base (a run again, or after a kill), or a new one."""
    assert result.name is not None
    if result.name in library.names():
        return library.open(result.name)
    result.created = True
    return library.create(result.name, description=result.description, embedder=embedder)


def _import_files(
    kb: KnowledgeBase,
    settings: Settings,
    source_kb: ChatchatKB,
    all_files: bool,
    result: ImportedKB,
    progress: Progress,
    should_stop: Callable[[], bool],
) -> None:
    wanted: list[SourceFile] = []
    for file in source_kb.files:
        refusal = _refusal(file, source_kb.in_info_db, all_files)
        if refusal is not None:
            result.files.append(refusal)
        elif file.path is not None:
            wanted.append(SourceFile(file.path, file.source))
    if not wanted:
        return
    report = ingest(kb, wanted, settings, progress=progress, should_stop=should_stop)
    result.files.extend(_imported(outcome) for outcome in report.outcomes)


def _refusal(file: ChatchatFile, kb_listed: bool, all_files: bool) -> ImportedFile | None:
    """Why a file is not handed to ingest, or None when it is."""
    if file.path is None:
        return ImportedFile(file.source, "failed", "the path leaves the content/ folder")
    if not file.path.is_file():
        return ImportedFile(file.source, "failed", "listed in info.db but missing from content/")
    if kb_listed and not file.listed and not all_files:
        return ImportedFile(file.source, "skipped", NOT_LISTED)
    return None


def _imported(outcome: FileOutcome) -> ImportedFile:
    if outcome.status in ("added", "updated"):
        return ImportedFile(outcome.source, "imported", chunks=outcome.chunks)
    if outcome.status == "unchanged":
        return ImportedFile(outcome.source, "skipped", "already imported", outcome.chunks)
    return ImportedFile(outcome.source, "failed", outcome.error or "failed")
