"""Stored conversations for multi-turn chat, with feedback on answers.

One SQLite file, ``$CHATKB_HOME/server.sqlite``; each conversation belongs to the API key
that created it (the empty owner when the server runs without keys).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chatkb.errors import NotFoundError
from chatkb.models import Answer, Message

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, kbs TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
    citations TEXT NOT NULL, model TEXT, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, seq);
CREATE TABLE IF NOT EXISTS feedback (
    message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    kbs: list[str]
    created_at: str
    updated_at: str

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


class ConversationStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def create(self, owner: str, title: str, kbs: list[str]) -> Conversation:
        now = _now()
        conversation = Conversation(uuid.uuid4().hex, title[:200] or "New chat", kbs, now, now)
        self._conn().execute(
            "INSERT INTO conversations VALUES (?,?,?,?,?,?)",
            (conversation.id, owner, conversation.title, json.dumps(kbs), now, now),
        )
        return conversation

    def owned_by(self, owner: str) -> list[Conversation]:
        rows = self._conn().execute(
            "SELECT id, title, kbs, created_at, updated_at FROM conversations WHERE owner = ? "
            "ORDER BY updated_at DESC",
            (owner,),
        )
        return [_conversation(row) for row in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        row = (
            self._conn()
            .execute(
                "SELECT id, title, kbs, created_at, updated_at FROM conversations "
                "WHERE owner = ? AND id = ?",
                (owner, conversation_id),
            )
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return _conversation(row)

    def rename(self, owner: str, conversation_id: str, title: str) -> Conversation:
        self.get(owner, conversation_id)
        self._conn().execute(
            "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?",
            (title[:200], _now(), conversation_id),
        )
        return self.get(owner, conversation_id)

    def delete(self, owner: str, conversation_id: str) -> None:
        self.get(owner, conversation_id)
        self._conn().execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def messages(self, owner: str, conversation_id: str) -> list[dict[str, object]]:
        self.get(owner, conversation_id)
        rows = self._conn().execute(
            "SELECT m.id, m.role, m.content, m.citations, m.model, m.created_at, f.rating, "
            "f.reason FROM messages m LEFT JOIN feedback f ON f.message_id = m.id "
            "WHERE m.conversation_id = ? ORDER BY m.seq",
            (conversation_id,),
        )
        return [_message(row) for row in rows]

    def history(self, owner: str, conversation_id: str, turns: int = 10) -> list[Message]:
        """The last ``turns`` question/answer pairs, oldest first."""
        items = self.messages(owner, conversation_id)[-2 * turns :]
        return [
            Message("user" if m["role"] == "user" else "assistant", str(m["content"]))
            for m in items
        ]

    def add_turn(self, conversation_id: str, question: str, answer: Answer, answer_id: str) -> None:
        now = _now()
        with _transaction(self._conn()) as conn:
            (seq,) = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            citations = json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False)
            conn.executemany(
                "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?)",
                [
                    (uuid.uuid4().hex, conversation_id, seq + 1, "user", question, "[]", None, now),
                    (
                        answer_id,
                        conversation_id,
                        seq + 2,
                        "assistant",
                        answer.answer,
                        citations,
                        answer.model,
                        now,
                    ),
                ],
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )

    def set_feedback(self, owner: str, message_id: str, rating: int, reason: str) -> None:
        conn = self._conn()
        row = conn.execute(
            "SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE m.id = ? AND c.owner = ? AND m.role = 'assistant'",
            (message_id, owner),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no answer {message_id!r} in your conversations")
        conn.execute(
            "INSERT INTO feedback VALUES (?,?,?,?) ON CONFLICT(message_id) DO UPDATE SET "
            "rating = excluded.rating, reason = excluded.reason, created_at = excluded.created_at",
            (message_id, rating, reason[:2000], _now()),
        )


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _conversation(row: tuple[str, str, str, str, str]) -> Conversation:
    return Conversation(row[0], row[1], json.loads(row[2]), row[3], row[4])


def _message(row: tuple[object, ...]) -> dict[str, object]:
    message_id, role, content, citations, model, created_at, rating, reason = row
    feedback = None
    if rating is not None:
        feedback = {"rating": "up" if int(str(rating)) > 0 else "down", "reason": reason}
    return {
        "id": message_id,
        "role": role,
        "content": content,
        "citations": json.loads(str(citations)),
        "model": model,
        "created_at": created_at,
        "feedback": feedback,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
