"""Stored conversations for multi-turn chat, with feedback on answers.

One SQLite file, ``$CHATKB_HOME/server.sqlite``; each conversation belongs to the API key
that created it (the empty owner when the server runs without keys). A conversation keeps
the knowledge bases and answer settings its client chose; the settings are opaque JSON that
the server stores and returns as is. Messages come in pairs (question, answer), added and
removed together.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from chatkb._sqlite import Connections, transaction
from chatkb.errors import NotFoundError
from chatkb.models import Answer, Message
from chatkb.timestamps import now_iso

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
# Columns added after the first release; files made before get them on open.
ADDED_COLUMNS = {"conversations": {"settings": "TEXT NOT NULL DEFAULT '{}'"}}
_CONVERSATION_COLUMNS = "id, title, kbs, created_at, updated_at, settings"


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    kbs: list[str]
    created_at: str
    updated_at: str
    settings: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


class ConversationStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._connections = Connections(path, timeout=30, synchronous="FULL")
        self._conn().executescript(SCHEMA)
        _add_missing_columns(self._conn())

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def create(
        self,
        owner: str,
        title: str,
        kbs: list[str],
        settings: dict[str, object] | None = None,
    ) -> Conversation:
        now = now_iso()
        conversation = Conversation(
            uuid.uuid4().hex, title[:200] or "New chat", kbs, now, now, settings or {}
        )
        self._conn().execute(
            "INSERT INTO conversations (id, owner, title, kbs, created_at, updated_at, settings) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                conversation.id,
                owner,
                conversation.title,
                json.dumps(kbs),
                now,
                now,
                json.dumps(conversation.settings, ensure_ascii=False),
            ),
        )
        return conversation

    def owned_by(self, owner: str) -> list[Conversation]:
        rows = self._conn().execute(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE owner = ? "
            "ORDER BY updated_at DESC",
            (owner,),
        )
        return [_conversation(row) for row in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        row = (
            self._conn()
            .execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE owner = ? AND id = ?",
                (owner, conversation_id),
            )
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return _conversation(row)

    def update(
        self,
        owner: str,
        conversation_id: str,
        *,
        title: str | None = None,
        kbs: list[str] | None = None,
        settings: dict[str, object] | None = None,
    ) -> Conversation:
        """Change the fields given; the others keep their values."""
        self.get(owner, conversation_id)
        changes: dict[str, str] = {}
        if title is not None:
            changes["title"] = title[:200]
        if kbs is not None:
            changes["kbs"] = json.dumps(kbs)
        if settings is not None:
            changes["settings"] = json.dumps(settings, ensure_ascii=False)
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            self._conn().execute(
                f"UPDATE conversations SET {assignments}, updated_at = ? WHERE id = ?",
                (*changes.values(), now_iso(), conversation_id),
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

    def history(
        self, owner: str, conversation_id: str, turns: int = 10, *, skip_last: bool = False
    ) -> list[Message]:
        """The last ``turns`` question/answer pairs, oldest first; ``skip_last`` leaves out
        the last pair (the one a regenerated answer replaces)."""
        items = self.messages(owner, conversation_id)
        items = (items[:-2] if skip_last else items)[-2 * turns :]
        return [
            Message("user" if m["role"] == "user" else "assistant", str(m["content"]))
            for m in items
        ]

    def add_turn(
        self,
        conversation_id: str,
        question: str,
        answer: Answer,
        answer_id: str,
        *,
        citations: list[dict[str, object]] | None = None,
        replace_last: bool = False,
    ) -> None:
        """Store a question and its answer; ``replace_last`` drops the last pair in the same
        transaction (a regenerated answer). ``citations`` default to the answer's own."""
        now = now_iso()
        cited = [c.to_json() for c in answer.citations] if citations is None else citations
        with transaction(self._conn()) as conn:
            if replace_last:
                _delete_last_pair(conn, conversation_id)
            (seq,) = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
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
                        json.dumps(cited, ensure_ascii=False),
                        answer.model,
                        now,
                    ),
                ],
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )

    def remove_turn(self, owner: str, conversation_id: str, message_id: str) -> None:
        """Remove a message and the other half of its pair (its question or its answer)."""
        self.get(owner, conversation_id)
        with transaction(self._conn()) as conn:
            row = conn.execute(
                "SELECT seq, role FROM messages WHERE id = ? AND conversation_id = ?",
                (message_id, conversation_id),
            ).fetchone()
            if row is None:
                raise NotFoundError(
                    f"no message {message_id!r} in conversation {conversation_id!r}"
                )
            seq, role = row
            partner, partner_role = (
                (seq - 1, "user") if role == "assistant" else (seq + 1, "assistant")
            )
            conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND "
                "(seq = ? OR (seq = ? AND role = ?))",
                (conversation_id, seq, partner, partner_role),
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now_iso(), conversation_id)
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
            (message_id, rating, reason[:2000], now_iso()),
        )


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, declaration in columns.items():
            if name not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")


def _delete_last_pair(conn: sqlite3.Connection, conversation_id: str) -> None:
    conn.execute(
        "DELETE FROM messages WHERE conversation_id = ? AND seq > "
        "(SELECT coalesce(max(seq), 0) - 2 FROM messages WHERE conversation_id = ?)",
        (conversation_id, conversation_id),
    )


def _conversation(row: tuple[str, str, str, str, str, str]) -> Conversation:
    settings = json.loads(row[5] or "{}")
    return Conversation(row[0], row[1], json.loads(row[2]), row[3], row[4], settings)


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
