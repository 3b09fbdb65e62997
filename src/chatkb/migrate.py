"""Copy a knowledge base to another store backend, without embedding anything again.

The copy is written into a staging folder, ``.migrating-NAME`` under the library root, whose
``migration.json`` records the source and the target location. Until the switch the source
is only read. The switch is one atomic step: rewriting ``kb.json`` (in place) or renaming the
staging folder (``--as NEW``). A migration stopped at any moment is simply run again: it
reopens the staging store, copies the documents that are missing or differ, and finishes;
one stopped after the switch only removes the old store on the next run.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatkb.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from chatkb.kb import KBConfig, KnowledgeBase, Library, write_config
from chatkb.kb_names import check_name
from chatkb.store import Store, StoreBackend, StoreLocation
from chatkb.store.backends import EMBEDDED_FILES, remove_embedded

STATE_FILE = "migration.json"
FILES_DIR = "files"  # uploaded originals (chatkb.server.files); they travel with --as


@dataclass(frozen=True)
class MigrationReport:
    name: str
    source: StoreLocation
    target: StoreLocation
    documents: int
    chunks: int
    copied: int  # documents written by this run (the rest were already in the target)
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "from": self.source.to_json(),
            "to": self.target.to_json(),
            "documents": self.documents,
            "chunks": self.chunks,
            "copied": self.copied,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class _Plan:
    staging: Path
    source: StoreLocation
    target: StoreLocation


def migrate(
    library: Library,
    name: str,
    to: str,
    *,
    as_name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> MigrationReport:
    """Copy knowledge base ``name`` onto backend ``to``: in place, or as ``as_name``."""
    started = time.perf_counter()
    kb = library.open(name)
    target_name = as_name or name
    staging = library.root / f".migrating-{target_name}"
    if as_name is not None:
        check_name(as_name)
        if as_name in library.names():
            raise AlreadyExistsError(f"knowledge base {as_name!r} already exists")
    plan = _resume(library, staging, kb, to, in_place=as_name is None)
    if plan is None:
        return _finished(kb, started)
    backend = library.backend(to)
    target = _open_target(backend, plan, kb.config.dim)
    try:
        copied = _copy(kb, target, progress)
        chunks = _verify(kb, target)
    finally:
        target.close()
    documents = len(kb.documents())
    if as_name is not None:
        _switch_as(library, kb, plan, as_name)
    else:
        _switch_in_place(library, kb, plan)
        _drop_old(library, kb, plan)
    elapsed = time.perf_counter() - started
    return MigrationReport(
        target_name, plan.source, plan.target, documents, chunks, copied, elapsed
    )


def _resume(
    library: Library, staging: Path, kb: KnowledgeBase, to: str, in_place: bool
) -> _Plan | None:
    """The plan of an earlier run of this same migration, or a new one; None when an
    in-place run onto ``to`` had already switched (its cleanup is then finished here)."""
    if (staging / STATE_FILE).exists():
        plan, owner = _read_plan(staging)
        if owner == kb.name and kb.location == plan.target and plan.source != plan.target:
            _drop_old(library, kb, plan)  # switched, then stopped before the cleanup
            if in_place and kb.location.backend == to:
                return None
        elif owner == kb.name and kb.location == plan.source and plan.target.backend == to:
            return plan
        else:  # another migration's leftovers; never the store a knowledge base uses
            library.backend(plan.target.backend).drop(plan.target, staging)
            shutil.rmtree(staging)
    elif staging.exists():
        shutil.rmtree(staging)  # stopped before it recorded anything
    if in_place and kb.location.backend == to:
        raise InvalidInputError(f"knowledge base {kb.name!r} is already on the {to} store")
    return _start(library, staging, kb, to)


def _read_plan(staging: Path) -> tuple[_Plan, str]:
    state = json.loads((staging / STATE_FILE).read_text(encoding="utf-8"))
    source = StoreLocation.from_json(state["source"])
    return _Plan(staging, source, StoreLocation.from_json(state["target"])), str(state["name"])


def _start(library: Library, staging: Path, kb: KnowledgeBase, to: str) -> _Plan:
    backend = library.backend(to)
    target = backend.locate(staging.name.removeprefix(".migrating-"))
    staging.mkdir(parents=True)
    plan = _Plan(staging, kb.location, target)
    try:  # an unreachable target fails here, before anything is recorded
        backend.open(target, staging, kb.config.dim, create=True).close()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    state = {"name": kb.name, "source": kb.location.to_json(), "target": target.to_json()}
    tmp = staging / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    tmp.replace(staging / STATE_FILE)
    return plan


def _open_target(backend: StoreBackend, plan: _Plan, dim: int) -> Store:
    try:
        return backend.open(plan.target, plan.staging, dim)
    except NotFoundError:  # stopped between recording the plan and making the store
        return backend.open(plan.target, plan.staging, dim, create=True)


def _copy(kb: KnowledgeBase, target: Store, progress: Callable[[str], None] | None) -> int:
    """Write every source document the target lacks or holds in another version; each
    write is atomic in every store, so a document found in the target is complete."""
    present = {d.source: d for d in target.documents()}
    copied = 0
    for document in kb.documents():
        if present.pop(document.source, None) == document:
            continue
        records = kb.chunk_records(document.doc_id)
        hashes = list(dict.fromkeys(h for r in records for h in r.embedded_hashes()))
        target.replace_document(document, records, kb.stored_vectors(hashes))
        copied += 1
        if progress is not None:
            progress(document.source)
    for source in present:  # removed from the source since an earlier run
        target.delete_document(source)
    target.maintain()
    return copied


def _verify(kb: KnowledgeBase, target: Store) -> int:
    """Refuse to switch unless the target holds exactly the source's documents and chunks."""
    if sorted(map(_summary, target.documents())) != sorted(map(_summary, kb.documents())):
        raise InvalidInputError(f"the copy of {kb.name!r} differs from its source; run again")
    stats, expected = target.stats(), kb.stats()
    problems = target.check_consistency()
    if stats.chunks != expected.chunks or problems:
        detail = "; ".join(problems) or f"{stats.chunks} chunks, not {expected.chunks}"
        raise InvalidInputError(f"the copy of {kb.name!r} is incomplete ({detail}); run again")
    return stats.chunks


def _summary(document: object) -> tuple[object, ...]:
    return tuple(document.__dict__.values())


def _switch_in_place(library: Library, kb: KnowledgeBase, plan: _Plan) -> None:
    library.forget(kb.name)
    if plan.target.backend == "embedded":
        # Files left in the folder by an earlier run are strays (kb.json names another
        # store): remove them first, so no old -wal file meets the new database.
        remove_embedded(kb.directory)
        for name in EMBEDDED_FILES:
            if (plan.staging / name).exists():
                (plan.staging / name).replace(kb.directory / name)
    config = KBConfig(**{**kb.config.to_json(), "store": plan.target.to_json()})  # type: ignore[arg-type]
    write_config(kb.directory, config)  # the switch


def _drop_old(library: Library, kb: KnowledgeBase, plan: _Plan) -> None:
    library.backend(plan.source.backend).drop(plan.source, kb.directory)
    shutil.rmtree(plan.staging)


def _finished(kb: KnowledgeBase, started: float) -> MigrationReport:
    stats = kb.stats()
    elapsed = time.perf_counter() - started
    return MigrationReport(
        kb.name, kb.location, kb.location, stats.documents, stats.chunks, 0, elapsed
    )


def _switch_as(library: Library, kb: KnowledgeBase, plan: _Plan, as_name: str) -> None:
    if (kb.directory / FILES_DIR).is_dir():
        shutil.copytree(kb.directory / FILES_DIR, plan.staging / FILES_DIR, dirs_exist_ok=True)
    fields = {**kb.config.to_json(), "name": as_name, "store": plan.target.to_json()}
    write_config(plan.staging, KBConfig(**fields))  # type: ignore[arg-type]
    plan.staging.rename(library.root / as_name)  # the switch
    (library.root / as_name / STATE_FILE).unlink()
