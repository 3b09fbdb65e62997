"""A Langchain-Chatchat knowledge-base root built the way Chatchat itself lays it out.

The DDL is what SQLAlchemy emits on SQLite for Chatchat's models (``server/db/models`` at
v0.2.10, ``libs/chatchat-server/chatchat/server/db/models`` at v0.3.x; the knowledge-base
tables are the same in both). ``file_name`` is the posix path under the KB's ``content/``.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE knowledge_base (
    id INTEGER NOT NULL, kb_name VARCHAR(50), kb_info VARCHAR(200), vs_type VARCHAR(50),
    embed_model VARCHAR(50), file_count INTEGER, create_time DATETIME, PRIMARY KEY (id));
CREATE TABLE knowledge_file (
    id INTEGER NOT NULL, file_name VARCHAR(255), file_ext VARCHAR(10), kb_name VARCHAR(50),
    document_loader_name VARCHAR(50), text_splitter_name VARCHAR(50), file_version INTEGER,
    file_mtime FLOAT, file_size INTEGER, custom_docs BOOLEAN, docs_count INTEGER,
    create_time DATETIME, PRIMARY KEY (id));
CREATE TABLE file_doc (
    id INTEGER NOT NULL, kb_name VARCHAR(50), file_name VARCHAR(255), doc_id VARCHAR(50),
    meta_data JSON, PRIMARY KEY (id));
CREATE TABLE summary_chunk (
    id INTEGER NOT NULL, kb_name VARCHAR(50), summary_context VARCHAR(255),
    summary_id VARCHAR(255), doc_ids VARCHAR(1024), meta_data JSON, PRIMARY KEY (id));
CREATE TABLE conversation (
    id VARCHAR(32) NOT NULL, name VARCHAR(50), chat_type VARCHAR(50), create_time DATETIME,
    PRIMARY KEY (id));
CREATE TABLE message (
    id VARCHAR(32) NOT NULL, conversation_id VARCHAR(32), chat_type VARCHAR(50),
    query VARCHAR(4096), response VARCHAR(4096), meta_data JSON, feedback_score INTEGER,
    feedback_reason VARCHAR(255), create_time DATETIME, PRIMARY KEY (id));
CREATE INDEX ix_message_conversation_id ON message (conversation_id);
"""


@dataclass
class KB:
    name: str
    info: str
    files: dict[str, Path | bytes | None] = field(default_factory=dict)  # None: row, no file
    unlisted: dict[str, Path] = field(default_factory=dict)  # on disk, not in info.db


def build_root(kb_root: Path, kbs: list[KB]) -> Path:
    """``kb_root`` (Chatchat's KB_ROOT_PATH) with info.db and each KB's content/."""
    kb_root.mkdir(parents=True)
    con = sqlite3.connect(kb_root / "info.db")
    con.executescript(SCHEMA)
    for kb in kbs:
        con.execute(
            "INSERT INTO knowledge_base (kb_name, kb_info, vs_type, embed_model, file_count, "
            "create_time) VALUES (?, ?, 'faiss', 'bge-large-zh-v1.5', ?, '2024-03-01 10:00:00')",
            (kb.name, kb.info, len(kb.files)),
        )
        content = kb_root / kb.name / "content"
        (kb_root / kb.name / "vector_store" / "bge-large-zh-v1.5").mkdir(parents=True)
        content.mkdir(parents=True, exist_ok=True)
        for file_name, data in kb.files.items():
            target = content / file_name
            if isinstance(data, Path):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(data, target)
            elif isinstance(data, bytes):
                target.write_bytes(data)
            con.execute(
                "INSERT INTO knowledge_file (file_name, file_ext, kb_name, document_loader_name, "
                "text_splitter_name, file_version, file_mtime, file_size, custom_docs, "
                "docs_count, create_time) VALUES (?, ?, ?, 'UnstructuredFileLoader', "
                "'ChineseRecursiveTextSplitter', 1, 1709287200.0, 0, 0, 3, "
                "'2024-03-01 10:00:00')",
                (file_name, Path(file_name).suffix, kb.name),
            )
        for file_name, path in kb.unlisted.items():
            shutil.copy(path, content / file_name)
    con.commit()
    con.close()
    return kb_root
