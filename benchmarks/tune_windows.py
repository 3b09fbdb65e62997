"""Measure sentence windows: what to embed for a chunk, and how a chunk's dense score is made.

    python benchmarks/tune_windows.py --home /tmp/en-home --kb bench \
        ../shared/datasets/en-dev/qa.jsonl --sizes 150,250,350 [--seed other/catalog.sqlite]

The knowledge base must be built with whole-chunk vectors (``chatkb kb create --window-chars
0``). For each window size, every chunk's windows are made exactly as ingest makes them
(``chatkb.ingest.embedded_texts``) and embedded, reusing vectors found by text hash in the
knowledge base itself or in ``--seed`` catalogs. Each question's dense ranking is then
rebuilt from the chunk and window cosines in several ways, fused with the unchanged BM25
ranking by min-max fusion, and scored like ``tune_fusion.py``:

* ``chunk``: the whole chunk's cosine (windows off);
* ``windows``: the best window's cosine (what chatkb does);
* ``max``: the better of the two; ``mix w``: (1 - w) * chunk + w * best window.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune_fusion import Candidates, collect, evaluate, score_fusion

Matrix = npt.NDArray[np.float32]


def _seeded(catalogs: Sequence[Path]) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    for catalog in catalogs:
        rows = sqlite3.connect(catalog).execute("SELECT text_hash, vector FROM vectors")
        found.update((h, np.frombuffer(blob, dtype=np.float32)) for h, blob in rows)
    return found


def window_vectors(
    home: Path, kb_name: str, size: int, seed: dict[str, np.ndarray]
) -> tuple[list[int], Matrix, Matrix, list[int]]:
    """Chunk keys, chunk vectors, window vectors and each window's chunk position."""
    from chatkb.embedders import embed_batched
    from chatkb.ingest import embedded_texts
    from chatkb.kb import Library
    from chatkb.models import Chunk
    from chatkb.settings import load_settings

    kb = Library(load_settings()).open(kb_name)
    rows = (
        kb.store.connection()
        .execute(
            "SELECT c.id, c.text, c.heading_path, d.title, v.vector FROM chunks c "
            "JOIN documents d USING (doc_id) JOIN vectors v USING (text_hash) ORDER BY c.id"
        )
        .fetchall()
    )
    texts: dict[str, str] = {}
    owners: list[tuple[int, str]] = []
    for position, (_, text, heading_path, title, _) in enumerate(rows):
        chunk = Chunk(0, text, 0, len(text), None, tuple(json.loads(heading_path)))
        embedded = embedded_texts(chunk, title, size)
        texts.update(embedded)
        owners.extend((position, h) for h in embedded)
    missing = [h for h in texts if h not in seed]
    print(f"{len(rows)} chunks, {len(owners)} windows, {len(missing)} to embed", flush=True)
    if missing:
        vectors = embed_batched(
            kb.embedder(), [texts[h] for h in missing], kind="passage", batch_size=16
        )
        seed.update(zip(missing, vectors, strict=True))
    chunk_matrix = np.stack([np.frombuffer(r[4], dtype=np.float32) for r in rows])
    window_matrix = np.stack([seed[h] for _, h in owners]).astype(np.float32)
    return [r[0] for r in rows], chunk_matrix, window_matrix, [p for p, _ in owners]


def rerank_dense(
    candidates: Sequence[Candidates],
    queries: Matrix,
    keys: list[int],
    chunks: Matrix,
    windows: Matrix,
    owner: list[int],
    mode: str,
) -> list[Candidates]:
    owners = np.asarray(owner)
    out = []
    for query, c in zip(queries, candidates, strict=True):
        whole = chunks @ query
        best = np.full(len(keys), -1.0, dtype=np.float32)
        np.maximum.at(best, owners, windows @ query)
        if mode == "chunk":
            score = whole
        elif mode == "windows":
            score = best
        elif mode == "max":
            score = np.maximum(whole, best)
        else:
            share = float(mode.split()[1])
            score = (1 - share) * whole + share * best
        top = np.argsort(-score)[:200]
        ranked = tuple((keys[i], float(score[i])) for i in top)
        out.append(Candidates(c.question, c.answers, ranked, c.keyword))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa", type=Path)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--kb", default="bench")
    parser.add_argument("--sizes", default="250")
    parser.add_argument("--seed", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    os.environ["CHATKB_HOME"] = str(args.home)
    from chatkb.evaluation.qa import load_qa
    from chatkb.kb import Library
    from chatkb.settings import load_settings

    candidates, texts = collect(args.home, args.kb, args.qa)
    embedder = Library(load_settings()).open(args.kb).embedder()
    queries = np.asarray(embedder.embed([i.question for i in load_qa(args.qa)], "query"))
    catalog = args.home / "kb" / args.kb / "catalog.sqlite"
    seed = _seeded([catalog, *args.seed])
    for size in (int(s) for s in args.sizes.split(",")):
        keys, chunks, windows, owner = window_vectors(args.home, args.kb, size, seed)
        texts.update(_texts(args.home, args.kb, keys))
        for mode in ("chunk", "windows", "max", "mix 0.5"):
            ranked = rerank_dense(candidates, queries, keys, chunks, windows, owner, mode)
            for alpha in (0.4, 0.5, 0.6):
                m = evaluate(ranked, texts, score_fusion(alpha, 50))
                figures = " ".join(f"{k}={v:.3f}" for k, v in m.items())
                print(f"size={size} {mode:8} dense share {alpha}: {figures}", flush=True)


def _texts(home: Path, kb_name: str, keys: list[int]) -> dict[int, str]:
    from chatkb.kb import Library
    from chatkb.settings import load_settings

    kb = Library(load_settings()).open(kb_name)
    return {chunk.key: chunk.text for chunk in kb.store.fetch(keys)}


if __name__ == "__main__":
    main()
