"""Compare keyword tokenisations on a built knowledge base, without re-embedding.

    python benchmarks/tune_tokenize.py --home /tmp/zh --kb bench \
        ../shared/datasets/zh-dev/qa.jsonl --dump /tmp/zh-candidates.json

Each variant re-tokenises every chunk (as indexed: headings + text) into an in-memory
FTS5 table, searches it with the variant's query tokens, and fuses the result with the
dense candidates saved by ``tune_fusion.py --dump``. Prints BM25-only and fused metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import jieba

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_fusion import Candidates, evaluate, rrf, score_fusion

Tokenizer = Callable[[str, bool], list[str]]


def _variants() -> dict[str, Tokenizer]:
    from chatkb import tokenize as t

    def default(text: str, query: bool) -> list[str]:
        return t.tokenize(text, drop_stopwords=query)

    def no_stem(text: str, query: bool) -> list[str]:
        tokens = [
            w
            for cjk, other in t._runs().findall(text.lower())
            for w in (t._cjk_words(cjk) if cjk else [other])
        ]
        return [w for w in tokens if not (query and (w in t._EN_STOP or w in t._ZH_STOP))]

    def precise(text: str, query: bool) -> list[str]:
        tokens: list[str] = []
        for cjk, other in t._runs().findall(text.lower()):
            if cjk:
                tokens += [w for w in jieba.cut(cjk, HMM=True) if w.strip()]
            else:
                tokens.append(t._stem(other))
        return [w for w in tokens if not (query and (w in t._EN_STOP or w in t._ZH_STOP))]

    def with_bigrams(text: str, query: bool) -> list[str]:
        tokens = default(text, query)
        for cjk, _ in t._runs().findall(text.lower()):
            tokens += [cjk[i : i + 2] for i in range(len(cjk) - 1)]
        return tokens

    def keep_stopwords(text: str, query: bool) -> list[str]:
        return t.tokenize(text, drop_stopwords=False)

    return {
        "jieba search + stem (default)": default,
        "no stemming": no_stem,
        "jieba precise": precise,
        "search + CJK bigrams": with_bigrams,
        "query stopwords kept": keep_stopwords,
    }


def _passage(heading_path: list[str], text: str) -> str:
    context = [h for h in heading_path if h and h not in text[:200]]
    return " > ".join(context) + "\n" + text if context else text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa", type=Path)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--kb", required=True)
    parser.add_argument("--dump", type=Path, required=True, help="from tune_fusion.py --dump")
    args = parser.parse_args()
    os.environ["CHATKB_HOME"] = str(args.home)
    catalog = sqlite3.connect(args.home / "kb" / args.kb / "catalog.sqlite")
    chunks = catalog.execute("SELECT id, heading_path, text FROM chunks").fetchall()
    passages = {key: _passage(json.loads(hp), text) for key, hp, text in chunks}
    texts = {key: text for key, _, text in chunks}
    data = json.loads(args.dump.read_text())
    for name, tokenizer in _variants().items():
        index = sqlite3.connect(":memory:")
        index.execute('CREATE VIRTUAL TABLE kw USING fts5(tokens, tokenize="unicode61")')
        index.executemany(
            "INSERT INTO kw(rowid, tokens) VALUES (?, ?)",
            [(k, " ".join(tokenizer(p, False))) for k, p in passages.items()],
        )
        candidates = []
        for row in data["candidates"]:
            terms = list(dict.fromkeys(tokenizer(row["question"], True)))
            match = " OR ".join('"' + w.replace('"', '""') + '"' for w in terms) or '""'
            found = index.execute(
                "SELECT rowid, -bm25(kw) FROM kw WHERE kw MATCH ? ORDER BY bm25(kw) LIMIT 200",
                (match,),
            ).fetchall()
            candidates.append(
                Candidates(
                    row["question"],
                    tuple(row["answers"]),
                    tuple(map(tuple, row["dense"])),
                    tuple(found),
                )
            )
        for label, fuse in (
            ("bm25 only", rrf(60, 0, 1, 50)),
            ("minmax 0.5", score_fusion(0.5, 50)),
        ):
            metrics = evaluate(candidates, texts, fuse)
            print(
                f"{name:<32} {label:<12} " + " ".join(f"{k} {v:.3f}" for k, v in metrics.items()),
                flush=True,
            )


if __name__ == "__main__":
    main()
