"""Recompute a knowledge base's keyword index with the current tokeniser (no re-embedding).

    python benchmarks/reindex_keywords.py --home /tmp/zh --kb bench

For trying tokeniser changes on a built knowledge base: every chunk's keyword row is
rebuilt from its text, headings and document title exactly as ingest would build it now.
Vectors are untouched. Work on a copy: this rewrites the catalog in place.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

from chatkb.ingest import passage_text
from chatkb.models import Chunk
from chatkb.tokenize import tokenize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--kb", required=True)
    args = parser.parse_args()
    conn = sqlite3.connect(args.home / "kb" / args.kb / "catalog.sqlite")
    rows = conn.execute(
        'SELECT c.id, c.idx, c.text, c.start, c."end", c.page, c.heading_path, d.title '
        "FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
    ).fetchall()
    with conn:
        for key, index, text, start, end, page, heading_path, title in rows:
            chunk = Chunk(index, text, start, end, page, tuple(json.loads(heading_path)))
            tokens = " ".join(tokenize(passage_text(chunk, title)))
            conn.execute("DELETE FROM keywords WHERE rowid = ?", (key,))
            conn.execute("INSERT INTO keywords(rowid, tokens) VALUES (?, ?)", (key, tokens))
    print(f"re-indexed {len(rows)} chunks")


if __name__ == "__main__":
    main()
