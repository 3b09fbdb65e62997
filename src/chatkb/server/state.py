"""What every request shares: settings, the library, the job queue, conversations, keys, the
chat models and the hardware report."""

from __future__ import annotations

from chatkb.errors import InvalidInputError
from chatkb.kb import KnowledgeBase, Library
from chatkb.llm import ChatModel
from chatkb.rerankers import Reranker, make_reranker
from chatkb.server.auth import Access, KeyRing, Principal
from chatkb.server.chat_models import ChatModels
from chatkb.server.conversations import ConversationStore
from chatkb.server.hardware import HardwareReport
from chatkb.server.jobs import JobQueue
from chatkb.settings import Settings

TEMP_DIR = "temp"


class ServerState:
    """Built once by ``create_app``; routes reach it through ``deps.StateDep``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.library = Library(settings)
        # Chatchat's file chat: temporary knowledge bases, kept apart from the real ones.
        self.temp_library = self.library.sibling(
            settings.model_copy(update={"home": settings.home / TEMP_DIR})
        )
        self.jobs = JobQueue(self.library, settings)
        self.temp_jobs = JobQueue(self.temp_library, settings)
        self.conversations = ConversationStore(settings.home / "server.sqlite")
        self.keys = KeyRing(settings.server)
        self.chat_models = ChatModels(settings.llm)
        self.chat_model: ChatModel | None = self.chat_models.default
        self.hardware = HardwareReport(settings)
        self.reranker: Reranker | None = make_reranker(settings.reranker)

    def open_kb(self, name: str, principal: Principal, needed: Access = "read") -> KnowledgeBase:
        principal.require(name, needed)
        return self.library.open(name)

    def open_kbs(
        self, names: list[str], principal: Principal, needed: Access = "read"
    ) -> list[KnowledgeBase]:
        names = [n.strip() for name in names for n in name.split(",") if n.strip()]
        if not names:
            raise InvalidInputError("name at least one knowledge base")
        return [self.open_kb(name, principal, needed) for name in dict.fromkeys(names)]

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
