"""A self-contained HTML report of an evaluation run (and its comparison with another).

Everything is inline: CSS, SVG charts, data. No scripts, no web fonts, nothing fetched, so
the file opens offline and can be mailed or attached to a ticket as it is.
"""

from __future__ import annotations

from html import escape
from typing import Any

from chatkb.evaluation import svg

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#0f172a}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #cbd5e1;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f1f5f9}td.n{text-align:right;
font-variant-numeric:tabular-nums}tr.miss td{background:#fef2f2}.up{color:#16a34a}
.down{color:#dc2626}.charts{display:flex;flex-wrap:wrap;gap:16px}svg{background:#fff;
border:1px solid #e2e8f0}svg .t{font:bold 12px sans-serif}svg .a{font:10px sans-serif}
.q{max-width:420px}small{color:#475569}
"""
_HEADLINE = (
    "recall@1",
    "recall@3",
    "recall@5",
    "recall@10",
    "R@1000c",
    "R@2000c",
    "R@4000c",
    "doc_hit@1",
    "doc_hit@5",
    "mrr@10",
    "ndcg@10",
)


def render(run: dict[str, Any], other: dict[str, Any] | None = None) -> str:
    """The report for ``run`` (a ``summary.to_json`` document), compared with ``other``."""
    title = f"chatkb eval — {', '.join(run['kbs'])} on {run['qa']}"
    parts = [
        f"<h1>{escape(title)}</h1>",
        _settings(run),
        "<h2>Metrics</h2>",
        _metrics_table(run, other),
        "<h2>Charts</h2>",
        f'<div class="charts">{_charts(run, other)}</div>',
    ]
    if other is not None:
        parts += ["<h2>Per-question changes</h2>", _changes(run, other)]
    parts += ["<h2>Questions</h2>", _question_table(run)]
    if run.get("probe"):
        parts += ["<h2>Unanswerable probe</h2>", _probe_table(run)]
    body = "\n".join(parts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _settings(run: dict[str, Any]) -> str:
    config = ", ".join(f"{k}={v}" for k, v in sorted(run["config"].items()))
    model = run.get("model") or "none (retrieval only)"
    probe = run.get("probe_qa") or "none"
    return (
        f"<p><small>top-k {run['top_k']} · LLM {escape(str(model))} · unanswerable probe "
        f"{escape(str(probe))}<br>retrieval: {escape(config)}</small></p>"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def _metrics_table(run: dict[str, Any], other: dict[str, Any] | None) -> str:
    head = "<tr><th>metric</th><th>this run</th>"
    head += "<th>compared run</th><th>change</th></tr>" if other else "</tr>"
    rows = [head]
    for name, value in run["metrics"].items():
        cells = f"<td>{escape(name)}</td><td class=n>{_fmt(value)}</td>"
        if other is not None:
            before = other["metrics"].get(name)
            cells += (
                f"<td class=n>{_fmt(before)}</td><td class=n>{_delta(value, before, name)}</td>"
            )
        rows.append(f"<tr>{cells}</tr>")
    if other is not None:
        for name in [n for n in other["metrics"] if n not in run["metrics"]]:
            rows.append(
                f"<tr><td>{escape(name)}</td><td>—</td><td class=n>"
                f"{_fmt(other['metrics'][name])}</td><td></td></tr>"
            )
    return "<table>" + "".join(rows) + "</table>"


def _delta(value: Any, before: Any, name: str) -> str:
    if not isinstance(value, int | float) or not isinstance(before, int | float):
        return ""
    change = value - before
    lower_is_better = name.startswith("latency") or name == "wrong_refusals"
    good = change < 0 if lower_is_better else change > 0
    css = "" if abs(change) < 1e-9 else ("up" if good else "down")
    return f'<span class="{css}">{change:+.3f}</span>'


def _charts(run: dict[str, Any], other: dict[str, Any] | None) -> str:
    runs = [("this run", run)] + ([("compared", other)] if other else [])
    ks = list(range(1, int(run["top_k"]) + 1))
    curve = [(name, [(k, _recall(r, k)) for k in ks]) for name, r in runs]
    charts = [
        svg.line_chart("recall@k", curve, x_label="k", y_label="recall", y_range=(0, 1)),
        svg.bar_chart(
            "context budget: answer within N characters",
            ["R@1000c", "R@2000c", "R@4000c"],
            [
                (name, [r["metrics"].get(m, 0.0) for m in ("R@1000c", "R@2000c", "R@4000c")])
                for name, r in runs
            ],
        ),
        _relevance_histogram(run),
        _score_histogram(run),
    ]
    if other is not None:
        names = ["recall@1", "recall@5", "R@2000c", "mrr@10", "ndcg@10"]
        charts.append(
            svg.bar_chart(
                "comparison",
                ["R@1", "R@5", "R@2k", "MRR", "nDCG"],
                [(name, [r["metrics"].get(m) or 0.0 for m in names]) for name, r in runs],
            )
        )
    return "".join(charts)


def _recall(run: dict[str, Any], k: int) -> float:
    ranks = [q["rank"] for q in run["questions"]]
    return sum(1 for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def _relevance_histogram(run: dict[str, Any]) -> str:
    groups = [("answerable", [q["relevance"] for q in run["questions"]])]
    if run.get("probe"):
        groups.append(("not in the KB", [p["relevance"] for p in run["probe"]]))
    threshold = run["config"].get("min_relevance")
    return svg.histogram(
        "relevance (calibrated) by question kind",
        groups,
        x_label="relevance",
        x_range=(0, 1),
        marker=threshold if isinstance(threshold, float) else None,
    )


def _score_histogram(run: dict[str, Any]) -> str:
    first = [q["hits"][0]["score"] for q in run["questions"] if q["hits"]]
    relevant = [h["score"] for q in run["questions"] for h in q["hits"] if h["relevant"]]
    other = [h["score"] for q in run["questions"] for h in q["hits"] if not h["relevant"]]
    return svg.histogram(
        "hit scores",
        [("top hit", first), ("hits with an answer", relevant), ("hits without", other)],
        x_label="score",
        x_range=(0, 1),
        y_label="share of hits",
    )


def _changes(run: dict[str, Any], other: dict[str, Any]) -> str:
    before = {q["id"]: q for q in other["questions"]}
    rows = []
    for q in run["questions"]:
        old = before.get(q["id"])
        if old is None or old["rank"] == q["rank"]:
            continue
        better = _rank_value(q["rank"]) < _rank_value(old["rank"])
        css = "up" if better else "down"
        rows.append(
            f"<tr><td>{escape(str(q['id']))}</td><td class=q>{escape(q['question'])}</td>"
            f"<td class=n>{_fmt(old['rank'])}</td><td class=n><span class={css}>"
            f"{_fmt(q['rank'])}</span></td></tr>"
        )
    if not rows:
        return "<p>No question changed rank.</p>"
    return (
        "<table><tr><th>id</th><th>question</th><th>rank before</th><th>rank now</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _rank_value(rank: int | None) -> float:
    return float("inf") if rank is None else float(rank)


def _question_table(run: dict[str, Any]) -> str:
    answers = any("answer" in q for q in run["questions"])
    head = (
        "<tr><th>id</th><th>question</th><th>gold</th><th>rank</th><th>doc rank</th>"
        "<th>R@2000c</th><th>relevance</th><th>top source</th><th>ms</th>"
    )
    head += "<th>answer</th><th>F1</th></tr>" if answers else "</tr>"
    rows = [head]
    for q in run["questions"]:
        css = ' class="miss"' if q["rank"] is None else ""
        top = q["hits"][0]["source"] if q["hits"] else "—"
        cells = (
            f"<td>{escape(str(q['id']))}</td><td class=q>{escape(q['question'])}</td>"
            f"<td class=q>{escape(_short(' | '.join(q['answers'])))}</td>"
            f"<td class=n>{_fmt(q['rank'])}</td><td class=n>{_fmt(q['doc_rank'])}</td>"
            f"<td>{'yes' if q['budgets'].get('2000') else 'no'}</td>"
            f"<td class=n>{q['relevance']:.2f}{'' if q['found'] else ' (refused)'}</td>"
            f"<td>{escape(top)}</td><td class=n>{q['latency_ms']:.0f}</td>"
        )
        if answers:
            answer = q.get("answer") or {}
            cells += (
                f"<td class=q>{escape(_short(answer.get('text', '')))}</td>"
                f"<td class=n>{_fmt(answer.get('f1'))}</td>"
            )
        rows.append(f"<tr{css}>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _probe_table(run: dict[str, Any]) -> str:
    rows = ["<tr><th>id</th><th>question</th><th>relevance</th><th>decision</th></tr>"]
    for p in run["probe"]:
        css = "" if not p["found"] else ' class="miss"'
        decision = "refused (correct)" if not p["found"] else "answered (wrong)"
        rows.append(
            f"<tr{css}><td>{escape(str(p['id']))}</td><td class=q>{escape(p['question'])}</td>"
            f"<td class=n>{p['relevance']:.2f}</td><td>{decision}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
