"""What every request shares: settings, the library, the job queue, conversations, keys, the
chat models and the hardware report."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import anyio

from chatkb.errors import InvalidInputError, NotFoundError
from chatkb.kb import KnowledgeBase, Library
from chatkb.kb_names import split_names
from chatkb.llm import ChatModel
from chatkb.rerankers import Reranker, make_reranker
from chatkb.server.auth import Access, KeyRing, Principal
from chatkb.server.chat_models import ChatModels
from chatkb.server.conversations import ConversationStore
from chatkb.server.hardware import HardwareReport
from chatkb.server.job_journal import JobJournal
from chatkb.server.jobs import JobQueue
from chatkb.server.streaming import in_thread
from chatkb.settings import Settings
from chatkb.store.health import StoreHealth

TEMP_DIR = "temp"
TEMP_OWNER = "owner"  # file in a temporary knowledge base: the key name that created it
_TEMP_ID = re.compile(r"^[0-9a-f]{32}$")
T = TypeVar("T")


class ServerState:
    """Built once by ``create_app``; routes reach it through ``deps.StateDep``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.library = Library(settings, serving=True)  # searches keep a core while it ingests
        # Chatchat's file chat: temporary knowledge bases, kept apart from the real ones.
        self.temp_library = self.library.sibling(replace(settings, home=settings.home / TEMP_DIR))
        self.jobs = JobQueue(self.library, settings, JobJournal(settings.home / "jobs.sqlite"))
        self.temp_jobs = JobQueue(self.temp_library, settings)
        self.conversations = ConversationStore(settings.home / "server.sqlite")
        self.keys = KeyRing(settings.server)
        self.chat_models = ChatModels(settings.llm)
        self.chat_model: ChatModel | None = self.chat_models.default
        self.hardware = HardwareReport(settings)
        self.reranker: Reranker | None = make_reranker(settings.reranker)
        self.store_health = StoreHealth()
        # A search is CPU work from end to end (embedding the query, both searches, fusion,
        # building the answer's JSON), so more of them side by side than the cores can run
        # only compete for the interpreter lock with each other and with the event loop that
        # reads and answers every request: at 50 clients on 2 cores, 40 worker threads
        # served fewer searches a second than 6 (docs/retrieval.md#speed).
        self.searches = anyio.CapacityLimiter(
            settings.server.search_threads or 3 * (os.cpu_count() or 1)
        )

    async def searching(self, function: Callable[..., T], *args: Any) -> T:
        """Run a request's search work (``function(*args)``, blocking) in a worker thread,
        at most ``server.search_threads`` at once, the others waiting their turn in order."""
        return await in_thread(function, *args, limiter=self.searches)

    def open_kb(self, name: str, principal: Principal, needed: Access = "read") -> KnowledgeBase:
        principal.require(name, needed)
        try:
            return self.library.open(name)
        except NotFoundError:
            # The library's own message lists every knowledge base; callers see only theirs.
            raise NotFoundError(
                f"no knowledge base named {name!r}; GET /api/kbs lists the ones you can read"
            ) from None

    def create_temp(self, principal: Principal) -> KnowledgeBase:
        """A new temporary (file-chat) knowledge base that only ``principal`` can open."""
        kb = self.temp_library.create(uuid.uuid4().hex, description="temporary: file chat")
        (kb.directory / TEMP_OWNER).write_text(principal.name, encoding="utf-8")
        return kb

    def open_temp(self, kb_id: str, principal: Principal) -> KnowledgeBase:
        """The caller's own temporary knowledge base; any other id reads as not found."""
        owner = self.temp_library.root / kb_id / TEMP_OWNER
        try:
            if _TEMP_ID.match(kb_id) and owner.read_text(encoding="utf-8") == principal.name:
                return self.temp_library.open(kb_id)
        except (OSError, NotFoundError):
            pass
        raise NotFoundError(
            f"no temporary knowledge base {kb_id!r} of yours (they expire after a day); "
            "upload files with /knowledge_base/upload_temp_docs to start one"
        )

    def open_kbs(
        self, names: list[str], principal: Principal, needed: Access = "read"
    ) -> list[KnowledgeBase]:
        names = split_names(names)
        if not names:
            raise InvalidInputError("name at least one knowledge base")
        return [self.open_kb(name, principal, needed) for name in names]

    def readable_names(self, principal: Principal) -> list[str]:
        return [name for name in self.library.names() if principal.can(name, "read")]

    def open(self) -> None:
        self.hardware.start()
        self.jobs.open()
        self.temp_jobs.open()

    def close(self) -> None:
        self.jobs.close()
        self.temp_jobs.close()
        self.chat_models.close()
        self.temp_library.close()
        self.library.close()
