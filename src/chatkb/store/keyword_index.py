"""Keyword search for large knowledge bases: a tantivy index that follows the catalog's log.

FTS5 (in the catalog) stays the keyword truth and serves every knowledge base below
``store.embedded.keyword_index_min_chunks`` chunks. Above, FTS5's ``bm25()`` scores every
posting of every query term, which grows with the corpus; tantivy's BM25 (k1 1.2, b 0.75, as
FTS5) finds the top k of an OR query with block-max WAND and skips most postings.

The index is derived, like the dense one (``dense.py``), and follows the same change log
(``dense_log``: a chunk's key whenever it is inserted, deleted or its text replaced):

- **published** (``keyword_files``): a tantivy index on disk and the log position it holds;
- **tail**: the chunks logged after that position, re-read from the catalog by the search
  that first meets them and scored with the same BM25 (``keyword_tail``: the index's
  document counts plus the tail's own, the mean length recorded at build). Their
  documents in the index are ignored, so an edit or a removal is visible at once, in any
  process.

A background thread commits the tail into the index once it passes ``_FOLD_AT`` entries
(and ``refresh``, which ``maintain`` runs after every ingest, commits all of it). A search
never writes and never waits for a commit: while there is no usable index yet, or the log
has run too far ahead for one search to read, it answers from FTS5, which is always
current, and wakes the thread to build or catch up.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chatkb.deferred import deferred
from chatkb.store import dense_log, keyword_files, keyword_tail
from chatkb.store.base import ScoredKey
from chatkb.store.keyword_files import DOC, KEY, TOKENS, Published

if TYPE_CHECKING:
    import tantivy
else:
    tantivy = deferred("tantivy", globals(), "tantivy")  # on first use: chatkb.deferred

log = logging.getLogger(__name__)

# Log entries one search reads into the tail itself; beyond, it answers from FTS5 and the
# background thread catches the index up.
_SYNC_ENTRIES = 1000
# Tail entries past which the background thread commits them into the index.
_FOLD_AT = 1000
# A tail this large is too slow to score per search: FTS5 answers until it is committed.
_TAIL_MAX = 20_000
# Chunks an index may have for a search to build it (or catch it up) itself, when a
# lowered threshold puts a small knowledge base in this tier.
_SYNC_BUILD = 2000
# Log entries committed per tantivy commit when catching up on a large backlog.
_FOLD_BATCH = 50_000
_BUILD_BATCH = 20_000

_ALL_TOKENS = "SELECT c.id, c.doc_id, k.tokens FROM chunks c JOIN keywords k ON k.rowid = c.id"


@dataclass
class _View:
    """The published index this process searches, and the chunks logged after it."""

    published: Published
    index: tantivy.Index
    searcher: tantivy.Searcher
    read_to: int  # the log position the tail is read up to
    tail: dict[int, keyword_tail.Chunk | None] = field(default_factory=dict)  # None: removed


class KeywordIndex:
    def __init__(
        self, directory: Path, connect: Callable[[], sqlite3.Connection], min_chunks: int
    ) -> None:
        self.folder = directory / "keywords"
        self.min_chunks = min_chunks
        self._connect = connect
        self._enabled: bool | None = None  # decided from the chunk count at first use
        self._counted_at = 0  # the log position of that count
        self._chunks = 0  # and the count
        self._view: _View | None = None
        self._lock = threading.Lock()  # the view and its tail
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._closed = threading.Event()

    # -- searching -------------------------------------------------------------------------

    def search(
        self, terms: Sequence[str], k: int, within: Collection[str] | None
    ) -> list[ScoredKey] | None:
        """The ``k`` best chunks for an OR of ``terms``; None when FTS5 must answer."""
        try:
            return self._search(terms, k, within)
        except Exception:  # a derived index: FTS5 answers, and the worker rebuilds or retries
            log.exception("the keyword index of %s could not answer", self.folder)
            self._view = None
            self._wake_worker()
            return None

    def _search(
        self, terms: Sequence[str], k: int, within: Collection[str] | None
    ) -> list[ScoredKey] | None:
        conn = self._connect()
        if not self._in_use(conn):
            return None
        view = self._current(conn)
        if view is None and self._chunks <= _SYNC_BUILD:  # small: built or caught up here
            self._fold(conn, at_least=1, wait=False)
            view = self._current(conn)
        if view is None:
            self._wake_worker()
            return None
        tail = view.tail  # replaced, never changed in place: this one stays whole
        query = self._query(terms, within)
        hits = view.searcher.search(query, k + len(tail), count=False).hits
        keys = view.searcher.fast_field_values(KEY, [address for _, address in hits])
        found = [
            ScoredKey(int(key), float(score))
            for (score, _), key in zip(hits, keys, strict=True)
            if key is not None and key not in tail
        ]
        found += keyword_tail.score(view.searcher, tail, terms, view.published.mean_tokens, within)
        found.sort(key=lambda s: (-s.score, s.key))
        return found[:k]

    def _query(self, terms: Sequence[str], within: Collection[str] | None) -> tantivy.Query:
        schema = keyword_files.schema()
        words = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, TOKENS, t)) for t in terms]
        )
        if within is None:
            return words
        scope = tantivy.Query.const_score_query(
            tantivy.Query.term_set_query(schema, DOC, list(within)), 0.0
        )
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, words), (tantivy.Occur.Must, scope)]
        )

    # -- which tier ------------------------------------------------------------------------

    def _in_use(self, conn: sqlite3.Connection) -> bool:
        # Below the threshold, the count is taken again once enough has been written (by
        # this process or another): a server crosses it while the CLI adds.
        if self._enabled is None or (not self._enabled and self._recount_due(conn)):
            self._count(conn)
        return bool(self._enabled)

    def _count(self, conn: sqlite3.Connection) -> None:
        """Decide the tier from the number of chunks (once per process, then again after
        the log has moved on by a tenth of the threshold, and at every ``refresh``)."""
        conn.execute("BEGIN")
        try:
            at = dense_log.head(conn)
            chunks = _chunk_count(conn)
        finally:
            conn.execute("COMMIT")
        self._enabled, self._counted_at, self._chunks = chunks >= self.min_chunks, at, chunks

    def _recount_due(self, conn: sqlite3.Connection) -> bool:
        return dense_log.head(conn) - self._counted_at > max(1, self.min_chunks // 10)

    def log_hold(self) -> int | None:
        """The earliest log position this index still needs (the dense index trims the
        log no further); None when the keyword tier is not in use here."""
        if not self._enabled:
            return None
        published = keyword_files.current(self.folder)
        return 0 if published is None else published.seq

    # -- following the log -----------------------------------------------------------------

    def _current(self, conn: sqlite3.Connection) -> _View | None:
        """The published index with the tail read up to the latest write; None when that
        is not at hand (no index yet, or too much to read in one search)."""
        with self._lock:
            published = keyword_files.current(self.folder)
            if published is None:
                return None
            view = self._view
            if view is None or view.published != published:
                view = self._reopen(view, published)
                if view is None:
                    return None
            head = dense_log.head(conn)
            if head - view.read_to > _SYNC_ENTRIES or len(view.tail) > _TAIL_MAX:
                return None
            if head > view.read_to:
                if view.read_to < dense_log.floor(conn):
                    return None  # trimmed past this index: the worker rebuilds it
                view.tail = keyword_tail.read(conn, view.tail, view.read_to, head)
                view.read_to = head
            if len(view.tail) >= _FOLD_AT:
                self._wake_worker()
            return view

    def _reopen(self, old: _View | None, published: Published) -> _View | None:
        """A view of ``published``, its tail not read yet."""
        index = old.index if old and old.published.folder == published.folder else None
        try:
            if index is None:
                index = keyword_files.open_index(published)
                if index is None:
                    return None
            else:
                index.reload()
            searcher = index.searcher()
        except (OSError, ValueError):  # replaced under us: the next search opens the new one
            return None
        # The tail starts again from the new position (what it held before is in the
        # index now, or is read again with what came after).
        self._view = _View(published, index, searcher, published.seq)
        return self._view

    def written(self) -> None:
        """A write committed in this process: let the worker look at it, once in use."""
        if self._enabled:
            self._wake_worker()

    # -- the background worker -------------------------------------------------------------

    def _wake_worker(self) -> None:
        with self._worker_lock:
            if self._closed.is_set():
                return
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work,
                    name=f"chatkb-keywords-{self.folder.parent.name}",
                    daemon=True,
                )
                self._worker.start()

    def _work(self) -> None:
        try:
            conn = self._connect()
            if self._enabled is None or self._recount_due(conn):
                self._count(conn)
            if self._enabled and not self._closed.is_set():
                self._fold(conn, at_least=_FOLD_AT)
        except Exception:  # a derived index: FTS5 answers, and the next write tries again
            log.exception("the keyword index of %s could not follow the catalog", self.folder)

    def refresh(self) -> None:
        """Decide the tier again and commit everything logged into the index (building it
        when it is missing, damaged or too far behind). What ``maintain`` runs."""
        conn = self._connect()
        self._count(conn)
        if self._enabled:
            self._fold(conn, at_least=1)

    def _fold(self, conn: sqlite3.Connection, *, at_least: int, wait: bool = True) -> None:
        """Commit the log after the published position into the index, in batches, once at
        least ``at_least`` entries wait; build a new index when there is none to follow.
        Without ``wait``, nothing is done while another process holds the folder."""
        if not self._fold_due(conn, at_least):
            return
        with keyword_files.locked(self.folder, wait=wait) as held:
            if not held:
                return
            published = keyword_files.current(self.folder)
            index = None if published is None else keyword_files.open_index(published)
            if published is None or index is None or not _follows(conn, published.seq):
                self._build(conn)
                return
            try:
                while (
                    not self._closed.is_set() and dense_log.head(conn) - published.seq >= at_least
                ):
                    published = self._commit(conn, index, published)
                    at_least = 1
            except _Damaged as problem:
                log.warning("the keyword index of %s is rebuilt: %s", self.folder, problem)
                self._build(conn)

    def _fold_due(self, conn: sqlite3.Connection, at_least: int) -> bool:
        """Whether ``_fold`` may have anything to do (checked again under the lock): the
        log has moved on, or this process has not opened the published index (it may not
        open at all: then it is rebuilt)."""
        published = keyword_files.current(self.folder)
        if published is None or not _follows(conn, published.seq):
            return True
        view = self._view
        if view is None or view.published.folder != published.folder:
            return True
        return dense_log.head(conn) - published.seq >= at_least

    def _commit(
        self, conn: sqlite3.Connection, index: tantivy.Index, published: Published
    ) -> Published:
        conn.execute("BEGIN")  # one snapshot: the entries and the chunks they name
        try:
            head = dense_log.head(conn)
            upto = min(head, published.seq + _FOLD_BATCH)
            keys = dense_log.touched(conn, published.seq, upto).tolist()
            rows = keyword_tail.rows_of(conn, keys)
            # Caught up to the catalog: the index must then hold exactly its chunks.
            expected = _chunk_count(conn) if upto == head else None
        finally:
            conn.execute("COMMIT")
        writer = index.writer(keyword_files.WRITER_HEAP, 1)
        for key in keys:
            writer.delete_documents_by_term(KEY, key)
        for key, doc, tokens in rows:
            writer.add_document(tantivy.Document(key=key, doc=doc, tokens=tokens))
        writer.commit()
        writer.wait_merging_threads()
        if expected is not None:
            index.reload()
            if index.searcher().num_docs != expected:
                raise _Damaged(f"{index.searcher().num_docs} documents for {expected} chunks")
        moved = Published(published.folder, upto, published.mean_tokens)
        keyword_files.advance(self.folder, moved)
        return moved

    def _build(self, conn: sqlite3.Connection) -> None:
        """A new index of every chunk's tokens, published at the log position it holds
        (the caller holds the folder's lock)."""
        hidden = keyword_files.new_folder(self.folder)
        index = tantivy.Index(keyword_files.schema(), path=str(hidden))
        writer = index.writer(keyword_files.WRITER_HEAP, 1)
        chunks = tokens_total = 0
        conn.execute("BEGIN")
        try:
            seq = dense_log.head(conn)
            cursor = conn.execute(_ALL_TOKENS)
            while batch := cursor.fetchmany(_BUILD_BATCH):
                if self._closed.is_set():
                    break
                for key, doc, tokens in batch:
                    writer.add_document(tantivy.Document(key=key, doc=doc, tokens=tokens))
                    tokens_total += tokens.count(" ") + 1 if tokens else 0
                chunks += len(batch)
        finally:
            conn.execute("COMMIT")
        if self._closed.is_set():
            writer.rollback()
            del writer, index
            shutil.rmtree(hidden, ignore_errors=True)
            return
        writer.commit()
        writer.wait_merging_threads()
        keyword_files.publish_new(self.folder, hidden, seq, tokens_total / max(chunks, 1))
        log.info("built the keyword index of %s: %d chunks", self.folder.parent.name, chunks)

    def close(self) -> None:
        """Stop the worker: a build stops at its next batch (what it leaves is only a
        hidden folder, removed by the next build)."""
        self._closed.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=10)


class _Damaged(Exception):
    """The index does not hold what the catalog does: it is rebuilt."""


def _chunk_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])


def _follows(conn: sqlite3.Connection, seq: int) -> bool:
    """Whether an index at log position ``seq`` can be caught up from the log: the entries
    after it are still there, and it is not ahead of the catalog (a catalog put back from a
    copy, say)."""
    return dense_log.floor(conn) <= seq <= dense_log.head(conn)
