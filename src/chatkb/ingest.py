"""The ingest flow: files → load → split → embed what is new → write, a group of files per
transaction.

Loading, splitting and tokenizing (``chatkb.prepare``) run in the loading worker process,
ahead of this one: while this process embeds and writes file *n*, the worker prepares file
*n + 1* (and up to eight small files), so the two cores share the work.

Texts to embed wait in one queue across files (``_Batches``) and are embedded in full
batches, whatever files they came from: a folder of small files costs one embedding call a
batch, not one a file (each call has its own overhead, a round trip to a server or a pass
over every embedder thread). A short batch goes only at the end, or once the queue has not
moved for ``GROUP_SECONDS`` (waiting for the next file to be read, or not), so an upload
shows up at once.

Idempotent and crash-safe: an unchanged file (same bytes) is skipped before loading, and a
run that finds every file unchanged starts no loading worker and builds no embedder; vectors
are cached by the hash of the embedded text, committed batch by batch, so a killed run
resumes without re-embedding. Files whose vectors are ready are written together, in order
(``_Group``): one store transaction for up to ``GROUP_CHUNKS`` chunks, since a commit costs
as much as a small file's rows. No embedding runs inside that transaction, and a file's
chunks, vectors and keyword rows are in the same one, so a kill at any moment leaves every
index consistent with the catalog, and the group's vectors still in the cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from chatkb.deferred import deferred
from chatkb.embedders import Embedder, embed_batched
from chatkb.errors import ChatkbError, LoadError
from chatkb.kb import KnowledgeBase
from chatkb.loaders import LoaderOptions, check_size, load_file
from chatkb.passages import text_hash, windows_of
from chatkb.prepare import Chunking, PreparedChunk, PreparedDocument, prepare
from chatkb.read_ahead import ReadAhead
from chatkb.settings import Settings
from chatkb.store.base import ChunkRecord, DocumentRecord, DocumentWrite
from chatkb.timestamps import now_iso

if TYPE_CHECKING:
    import numpy as np
else:
    np = deferred("numpy", globals(), "np")  # numpy on first use: chatkb.deferred

log = logging.getLogger(__name__)

Status = Literal["added", "updated", "unchanged", "failed", "removed"]

# A group of indexed files is written once it holds this many files or chunks, or this many
# seconds after its first file was ready (docs/retrieval.md#speed): big enough that commits
# stop mattering, small enough that a server's upload shows up at once. A short embedding
# batch waits for the next file's texts no longer than that either.
GROUP_FILES = 256
GROUP_CHUNKS = 2_000
GROUP_SECONDS = 0.5


@dataclass(frozen=True)
class FileOutcome:
    source: str
    status: Status
    chunks: int = 0
    embedded: int = 0
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def to_json(self) -> dict[str, object]:
        statuses: tuple[Status, ...] = ("added", "updated", "unchanged", "removed", "failed")
        return {
            **{status: self.count(status) for status in statuses},
            "chunks": sum(o.chunks for o in self.outcomes),
            "embedded": sum(o.embedded for o in self.outcomes),
            "files": [o.to_json() for o in self.outcomes],
        }


class Progress:
    """Callbacks the CLI and the server use to show progress; the defaults do nothing.

    ``embedded(count, total)``: after each embedding batch, the texts embedded so far in the
    run and the texts found so far to need it (both grow as files are read). ``finish()``:
    once, when the run ends however it ends (a display started by ``start`` stops there)."""

    def start(self, total_files: int) -> None: ...
    def file_started(self, source: str) -> None: ...
    def embedded(self, count: int, total: int) -> None: ...
    def file_done(self, outcome: FileOutcome) -> None: ...
    def finish(self) -> None: ...


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str


def discover(paths: Iterable[Path]) -> list[SourceFile]:
    """Files to ingest: a file as its own name, a folder's files (recursively) relative to it.

    Hidden files and folders (``.git``, ``.DS_Store``) are skipped. Paths are absolute: a
    folder is resolved once, so its files need no resolving each (a syscall per component).
    """
    found: list[SourceFile] = []
    folders: dict[Path, Path] = {}
    for given in paths:
        path = _resolved(given, folders)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(path)
                if file.is_file() and not any(p.startswith(".") for p in relative.parts):
                    found.append(SourceFile(file, relative.as_posix()))
        else:
            found.append(SourceFile(path, given.name))  # named as given, not as its target
    return found


def _resolved(given: Path, folders: dict[Path, Path]) -> Path:
    """``given.resolve()``, with each parent folder resolved once: thousands of files named
    one by one (a shell glob) would otherwise cost a syscall per path component each."""
    if given.name in ("", ".", "..") or given.is_symlink():
        return given.resolve()
    parent = folders.get(given.parent)
    if parent is None:
        parent = folders[given.parent] = given.parent.resolve()
    return parent / given.name


def ingest(
    kb: KnowledgeBase,
    files: Sequence[SourceFile],
    settings: Settings,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    force: bool = False,
) -> IngestReport:
    """Add or update ``files`` in ``kb``; every file fails or succeeds on its own.

    ``force`` indexes unchanged files again (a re-index after a loader or chunking change);
    like any update it replaces the document in one write, so a failure keeps the old one.
    ``should_stop`` is asked before each file and each embedding batch: a stop in the middle
    of a file leaves it unwritten (its finished batches cached for the next run).
    """
    progress = progress or Progress()
    report = IngestReport()
    embedder: Embedder | None = None  # built at the first file to index, not before
    options = loader_options(settings)
    config = kb.config
    chunking = Chunking(config.chunk_size, config.chunk_overlap, config.window_chars)

    checked: dict[int, _Read] = {}  # files settled as needing a load, for their read

    def settle(i: int) -> _Read | None:
        found = _check(kb, files[i], options, force=force)
        if found.outcome is not None:
            return found
        checked[i] = found
        return None

    def read(i: int) -> _Read:
        found = checked.pop(i, None) or _check(kb, files[i], options, force=force)
        return _read(found, files[i], options, settings, chunking, should_stop)

    progress.start(len(files))
    stopped = False
    ahead = ReadAhead([f.path for f in files], read, settle)
    group = _Group(kb, progress, report)
    batches = _Batches(kb, settings.embedder.batch_size, progress, should_stop)
    try:
        for i, file in enumerate(files):
            if stopped := should_stop():
                break
            progress.file_started(file.source)
            # While the next file is read, what waited long enough goes: a short batch, a group.
            while not ahead.wait(i, _patience(batches.waiting_since, group.since)):
                group.add_all(batches.embed(short=_due(batches.waiting_since)))
                if group.full():
                    group.flush()
            current = ahead.take(i)
            if embedder is None and current.outcome is None:
                embedder = kb.embedder()  # a wrong embedder still fails the whole run
                batches.embedder = embedder
            batches.add(_pending(kb, file, current))
            # The same bound when reads come at once (unchanged files), so that neither the
            # queue nor the files waiting behind its first one are held up for the run.
            group.add_all(batches.embed(short=_due(batches.waiting_since)))
            if group.full():
                group.flush()
        if not stopped:
            group.add_all(batches.embed(short=True))
    except _Stopped:  # mid-load, or between two embedding batches: files waiting stay unwritten
        stopped = True
    finally:
        try:
            group.flush()  # what is ready is written, whatever ended the run
        finally:
            ahead.close()
            progress.finish()
    if report.count("added") or report.count("updated"):
        # The cache is emptied only after a whole run without failures: a stopped or failed
        # file's finished batches are kept for the run that completes it.
        try:
            kb.maintain(complete=not report.failed and not stopped)
        except ChatkbError as exc:  # housekeeping only: what was written stays written
            log.warning("after ingesting into %s: %s", kb.name, exc.message)
    return report


def _patience(*since: float | None) -> float | None:
    """Seconds until the oldest of these waits is due (None: nothing is waiting)."""
    started = [t for t in since if t is not None]
    if not started:
        return None
    return max(0.0, min(started) + GROUP_SECONDS - time.monotonic())


def _due(since: float | None) -> bool:
    return since is not None and time.monotonic() - since >= GROUP_SECONDS


@dataclass
class _Pending:
    """A file read, in the run's order: decided already (an ``outcome`` and no ``document``),
    or indexed once the texts it ``needs`` are embedded."""

    outcome: FileOutcome
    document: DocumentRecord | None = None
    chunks: list[ChunkRecord] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # every text it embeds, by hash
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # those known so far
    needs: set[str] = field(default_factory=set)  # texts without a vector yet

    @property
    def write(self) -> DocumentWrite | None:
        if self.document is None:
            return None
        vectors = {h: np.asarray(self.vectors[h], dtype=np.float32) for h in self.texts}
        return DocumentWrite(self.document, self.chunks, vectors)

    def fail(self, error: str) -> None:
        self.outcome = FileOutcome(self.outcome.source, "failed", error=error)
        self.document, self.needs = None, set()


def _pending(kb: KnowledgeBase, file: SourceFile, read: _Read) -> _Pending:
    """A file read, with the vectors already known for its texts (cached, or in the store)."""
    if read.outcome is not None:
        return _Pending(read.outcome)
    assert read.prepared is not None
    try:
        record, records, texts = _records(
            file, read.prepared, read.content_hash, read.size, read.previous
        )
        vectors = kb.known_vectors(list(texts))
    except ChatkbError as exc:
        log.info("failed %s: %s", file.source, exc.message)
        return _Pending(FileOutcome(file.source, "failed", error=exc.message))
    status: Status = "added" if read.previous is None else "updated"
    outcome = FileOutcome(file.source, status, chunks=len(records))
    needs = {h for h in texts if h not in vectors}
    return _Pending(outcome, record, records, texts, vectors, needs)


class _Batches:
    """The files read and not yet indexed, in order, and one queue of the texts they still
    need embedded: full batches are embedded as soon as they fill, whichever files their
    texts come from; a text needed by several files is embedded once. ``embed`` hands back
    the files done, in order (a file waits for those before it)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        batch_size: int,
        progress: Progress,
        should_stop: Callable[[], bool],
    ) -> None:
        self.embedder: Embedder | None = None  # set at the first file that needs one
        self._kb, self._batch = kb, batch_size
        self._progress, self._should_stop = progress, should_stop
        self._files: deque[_Pending] = deque()
        self._queue: dict[str, str] = {}  # hash → text, in the order first needed
        self._since: float | None = None  # when it last moved: filled from empty, or a batch went
        self._embedded = self._needed = 0

    @property
    def waiting_since(self) -> float | None:
        return self._since if self._queue else None

    def add(self, file: _Pending) -> None:
        fresh = [h for h in file.texts if h in file.needs and h not in self._queue]
        if fresh and not self._queue:
            self._since = time.monotonic()
        self._queue.update((h, file.texts[h]) for h in fresh)
        self._needed += len(fresh)
        file.outcome = replace(file.outcome, embedded=len(fresh))
        self._files.append(file)

    def embed(self, *, short: bool) -> list[_Pending]:
        """Embed every full batch in the queue (and with ``short`` the rest too); the files
        done. A batch that fails (``ChatkbError``) fails the files that needed its texts."""
        while len(self._queue) >= self._batch or (short and self._queue):
            if self._should_stop():  # finished batches stay cached: the next run goes on
                raise _Stopped
            hashes = list(islice(self._queue, self._batch))
            try:
                assert self.embedder is not None
                texts = [self._queue[h] for h in hashes]
                vectors = embed_batched(
                    self.embedder, texts, kind="passage", batch_size=self._batch
                )
                self._kb.cache_vectors(hashes, vectors)  # committed: a crash keeps the batch
            except ChatkbError as exc:
                self._fail(set(hashes), exc.message)
                continue
            for h in hashes:
                del self._queue[h]
            self._since = time.monotonic()
            self._deliver(dict(zip(hashes, vectors, strict=True)))
            self._embedded += len(hashes)
            self._progress.embedded(self._embedded, self._needed)
        done: list[_Pending] = []
        while self._files and not self._files[0].needs:
            done.append(self._files.popleft())
        return done

    def _deliver(self, vectors: dict[str, np.ndarray]) -> None:
        for file in self._files:
            arrived = file.needs & vectors.keys()
            if arrived:
                file.vectors.update((h, vectors[h]) for h in arrived)
                file.needs -= arrived

    def _fail(self, hashes: set[str], error: str) -> None:
        """The files needing any of ``hashes`` fail; the queue keeps what the others need."""
        for file in self._files:
            if file.needs & hashes:
                log.info("failed %s: %s", file.outcome.source, error)
                file.fail(error)
        still = {h for file in self._files for h in file.needs}
        self._queue = {h: t for h, t in self._queue.items() if h in still}


class _Group:
    """Files indexed and not yet reported, in order: their documents are written together,
    and only then are they reported (done, or failed with the write's error)."""

    def __init__(self, kb: KnowledgeBase, progress: Progress, report: IngestReport) -> None:
        self._kb, self._progress, self._report = kb, progress, report
        self._entries: list[tuple[FileOutcome, DocumentWrite | None]] = []
        self._chunks = 0
        self._since = 0.0  # when its first document was ready

    @property
    def since(self) -> float | None:
        """When its first document was ready (None: it holds no document)."""
        return self._since if self._chunks else None

    def add_all(self, files: Iterable[_Pending]) -> None:
        for file in files:
            self.add(file.outcome, file.write)

    def add(self, outcome: FileOutcome, write: DocumentWrite | None) -> None:
        if write is not None:
            if not self._chunks:
                self._since = time.monotonic()
            self._chunks += len(write.chunks) or 1
        self._entries.append((outcome, write))

    def full(self) -> bool:
        if not self._chunks:  # only outcomes already decided: report them now
            return bool(self._entries)
        return (
            len(self._entries) >= GROUP_FILES
            or self._chunks >= GROUP_CHUNKS
            or time.monotonic() - self._since >= GROUP_SECONDS
        )

    def flush(self) -> None:
        entries, self._entries, self._chunks = self._entries, [], 0
        failures = self._write([w for _, w in entries if w is not None])
        for outcome, write in entries:
            if write is not None and write.document.source in failures:
                error = failures[write.document.source]
                log.info("failed %s: %s", outcome.source, error)
                outcome = FileOutcome(outcome.source, "failed", error=error)
            self._report.outcomes.append(outcome)
            self._progress.file_done(outcome)

    def _write(self, writes: list[DocumentWrite]) -> dict[str, str]:
        """Write the group; when that fails, each document on its own, so that one that
        cannot be written fails alone. The errors, by source."""
        if not writes:
            return {}
        try:
            self._kb.write_documents(writes)
            return {}
        except ChatkbError as exc:
            if len(writes) == 1:
                return {writes[0].document.source: exc.message}
        failures: dict[str, str] = {}
        for write in writes:
            try:
                self._kb.write_documents([write])
            except ChatkbError as exc:
                failures[write.document.source] = exc.message
        return failures


class _Stopped(Exception):
    """``should_stop`` said so in the middle of a file (a cancel or a shutdown)."""


def remove(kb: KnowledgeBase, sources: Sequence[str]) -> IngestReport:
    """Remove documents by source from every index."""
    report = IngestReport()
    for source in sources:
        if kb.remove_document(source):
            report.outcomes.append(FileOutcome(source, "removed"))
        else:
            report.outcomes.append(FileOutcome(source, "failed", error="no such document"))
    kb.maintain()
    return report


def loader_options(settings: Settings) -> LoaderOptions:
    loading = settings.loading
    return LoaderOptions(
        max_file_bytes=loading.max_file_mb * 1024 * 1024,
        max_unpacked_bytes=loading.max_unpacked_mb * 1024 * 1024,
        ocr=loading.ocr,
        max_ocr_pages=loading.max_ocr_pages,
        max_pages=loading.max_pages,
        zh_title_enhance=loading.zh_title_enhance,
    )


def _load(
    path: Path,
    options: LoaderOptions,
    settings: Settings,
    chunking: Chunking,
    stop: Callable[[], bool],
) -> PreparedDocument:
    """The file's text, split and tokenized, in a worker process within the per-file budget
    (a stop kills the worker), or in this process when ``loading.isolated`` is off."""
    loading = settings.loading
    if not loading.isolated:
        return prepare(load_file(path, options), chunking)
    # Here, not at the top: a run that finds every file unchanged never imports the worker.
    from chatkb.loaders.isolated import LoadBudget, LoadStopped, prepare_isolated

    budget = LoadBudget(seconds=loading.timeout, memory_bytes=loading.max_memory_mb * 2**20)
    try:
        return prepare_isolated(path, options, budget, chunking, stop)
    except LoadStopped:
        raise _Stopped from None


@dataclass(frozen=True)
class _Read:
    """A file read: its outcome already (unchanged, unreadable, failed to load), or what
    indexing it needs."""

    outcome: FileOutcome | None = None
    size: int = 0
    content_hash: str = ""
    previous: DocumentRecord | None = None
    prepared: PreparedDocument | None = None


def _check(kb: KnowledgeBase, file: SourceFile, options: LoaderOptions, *, force: bool) -> _Read:
    """What the file's size, digest and catalog entry decide: its outcome (unchanged,
    unreadable, too large), or its size, hash and previous record for loading it."""
    try:
        check_size(file.path, options)  # from the size on disk: a huge file is never read
        size, content_hash = _digest(file.path)
    except LoadError as exc:
        return _Read(FileOutcome(file.source, "failed", error=exc.message))
    except OSError as exc:
        return _Read(FileOutcome(file.source, "failed", error=f"cannot read file: {exc.strerror}"))
    try:  # the store may have gone away: this file fails alone
        previous = kb.find_document(file.source)
    except ChatkbError as exc:
        log.info("failed %s: %s", file.source, exc.message)
        return _Read(FileOutcome(file.source, "failed", error=exc.message))
    if previous is not None and previous.content_hash == content_hash and not force:
        return _Read(FileOutcome(file.source, "unchanged", chunks=previous.chunk_count))
    return _Read(None, size, content_hash, previous)


def _read(
    checked: _Read,
    file: SourceFile,
    options: LoaderOptions,
    settings: Settings,
    chunking: Chunking,
    stop: Callable[[], bool],
) -> _Read:
    """The file loaded and prepared, once ``_check`` found it needs indexing."""
    if checked.outcome is not None:
        return checked
    try:
        prepared = _load(file.path, options, settings, chunking, stop)
    except ChatkbError as exc:
        log.info("failed %s: %s", file.source, exc.message)
        return _Read(FileOutcome(file.source, "failed", error=exc.message))
    return replace(checked, prepared=prepared)


# Most documents fit in one read. ``hashlib.file_digest`` allocates a fresh 256 KiB buffer
# per file, which in a new process (every ``chatkb add``) cost 4x the hashing for small files.
_DIGEST_BLOCK = 1 << 16


def _digest(path: Path) -> tuple[int, str]:
    """The file's size and sha256, streamed (memory stays flat whatever the size)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb", buffering=0) as handle:
        while block := handle.read(_DIGEST_BLOCK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _records(
    file: SourceFile,
    prepared: PreparedDocument,
    content_hash: str,
    size: int,
    previous: DocumentRecord | None,
) -> tuple[DocumentRecord, list[ChunkRecord], dict[str, str]]:
    """The document's catalog rows, and every text to embed for it by hash."""
    document, chunks = prepared.document, prepared.chunks
    if not chunks:
        raise LoadError("no text could be extracted")
    doc_id = _hash(f"{file.source}\0{content_hash}")[:16]
    now = now_iso()
    record = DocumentRecord(
        doc_id=doc_id,
        source=file.source,
        path=os.path.abspath(file.path),  # discover resolved the folder already
        file_type=document.file_type,
        title=document.title,
        content_hash=content_hash,
        size=size,
        chunk_count=len(chunks),
        chars=len(document.text),
        added_at=previous.added_at if previous else now,
        updated_at=now,
    )
    texts: dict[str, str] = {}
    for part in chunks:
        texts.update(part.embedded)
    return record, [_chunk_record(doc_id, part) for part in chunks], texts


def _chunk_record(doc_id: str, part: PreparedChunk) -> ChunkRecord:
    chunk = part.chunk
    return ChunkRecord(
        chunk_id=_hash(f"{doc_id}:{chunk.index}")[:16],
        doc_id=doc_id,
        index=chunk.index,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        page=chunk.page,
        heading_path=chunk.heading_path,
        text_hash=part.indexed_hash,
        keywords=part.keywords,
        windows=windows_of(part.embedded, part.indexed_hash),
    )


_hash = text_hash
