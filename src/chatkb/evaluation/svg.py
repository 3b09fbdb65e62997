"""Tiny inline-SVG charts for the evaluation report: no scripts, no fonts, no downloads."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 440, 256
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 40, 34
COLORS = ("#2563eb", "#ea580c", "#16a34a", "#9333ea")

Series = tuple[str, Sequence[tuple[float, float]]]


def _frame(title: str, body: list[str], x_label: str, y_label: str) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    axes = (
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#94a3b8"/>'
    )
    labels = (
        f'<text x="{LEFT}" y="32" class="t">{escape(title)}</text>'
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 4}" class="a" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{TOP + plot_h / 2}" class="a" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2})">{escape(y_label)}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"{axes}{labels}{''.join(body)}</svg>"
    )


def _scale(value: float, low: float, high: float, start: float, size: float) -> float:
    span = (high - low) or 1.0
    return start + (value - low) / span * size


def _ticks(low: float, high: float, *, vertical: bool, count: int = 5) -> list[str]:
    if not vertical and high - low <= 12 and float(high - low).is_integer() and high > low:
        count = int(high - low)  # whole-number axes (k) get one tick per value
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = []
    for i in range(count + 1):
        value = low + (high - low) * i / count
        text = f"{value:.2f}" if abs(high - low) <= 5 else f"{value:.0f}"
        if vertical:
            y = TOP + plot_h - _scale(value, low, high, 0, plot_h)
            out.append(
                f'<text x="{LEFT - 4}" y="{y + 3:.1f}" class="a" text-anchor="end">{text}</text>'
            )
        else:
            x = _scale(value, low, high, LEFT, plot_w)
            out.append(
                f'<text x="{x:.1f}" y="{TOP + plot_h + 12}" class="a" '
                f'text-anchor="middle">{text}</text>'
            )
    return out


def _legend(names: Sequence[str]) -> list[str]:
    """One row of colour-keyed names in the top margin, right-aligned."""
    out, x = [], WIDTH - RIGHT
    for i, name in reversed(list(enumerate(names))):
        width = 6 * len(name) + 16
        x -= width
        color = COLORS[i % len(COLORS)]
        out.append(f'<rect x="{x:.0f}" y="8" width="9" height="9" fill="{color}"/>')
        out.append(f'<text x="{x + 12:.0f}" y="16" class="a">{escape(name)}</text>')
    return out


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float],
) -> str:
    """One polyline (with dots) per series."""
    xs = [x for _, points in series for x, _ in points] or [0.0, 1.0]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = y_range
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _ticks(x_low, x_high, vertical=False) + _ticks(y_low, y_high, vertical=True)
    for i, (_, points) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        coords = [
            (
                _scale(x, x_low, x_high, LEFT, plot_w),
                TOP + plot_h - _scale(y, y_low, y_high, 0, plot_h),
            )
            for x, y in points
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in coords]
    body += _legend([name for name, _ in series])
    return _frame(title, body, x_label, y_label)


def histogram(
    title: str,
    groups: Sequence[tuple[str, Sequence[float]]],
    *,
    x_label: str,
    bins: int = 20,
    x_range: tuple[float, float] | None = None,
    marker: float | None = None,
    y_label: str = "share of questions",
) -> str:
    """Overlaid histograms (share of each group per bin), with an optional threshold line."""
    values = [v for _, vs in groups for v in vs] or [0.0, 1.0]
    low, high = x_range or (min(values), max(values))
    high = high if high > low else low + 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    shares = [_bin_shares(vs, low, high, bins) for _, vs in groups]
    top = max((s for group in shares for s in group), default=1.0) or 1.0
    body = _ticks(low, high, vertical=False) + _ticks(0, top, vertical=True)
    bar_w = plot_w / bins
    for g, group in enumerate(shares):
        color = COLORS[g % len(COLORS)]
        for b, share in enumerate(group):
            if share:
                h = share / top * plot_h
                x = LEFT + b * bar_w
                body.append(
                    f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                    f'height="{h:.1f}" fill="{color}" fill-opacity="0.45"/>'
                )
    if marker is not None and low <= marker <= high:
        x = _scale(marker, low, high, LEFT, plot_w)
        body.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="#dc2626" '
            'stroke-dasharray="4 3"/>'
        )
    body += _legend([f"{name} ({len(vs)})" for name, vs in groups])
    return _frame(title, body, x_label, y_label)


def _bin_shares(values: Sequence[float], low: float, high: float, bins: int) -> list[float]:
    counts = [0] * bins
    for value in values:
        index = int((value - low) / (high - low) * bins)
        counts[min(max(index, 0), bins - 1)] += 1
    total = max(len(values), 1)
    return [c / total for c in counts]


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> str:
    """Grouped bars on 0..1, one group per label, one bar per series."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _ticks(0, 1, vertical=True)
    group_w = plot_w / max(len(labels), 1)
    bar_w = (group_w - 6) / max(len(series), 1)
    for i, label in enumerate(labels):
        x0 = LEFT + i * group_w + 3
        body.append(
            f'<text x="{x0 + group_w / 2 - 3:.1f}" y="{TOP + plot_h + 12}" class="a" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
        for s, (_, values) in enumerate(series):
            value = max(0.0, min(1.0, values[i]))
            h = value * plot_h
            body.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{COLORS[s % len(COLORS)]}"/>'
            )
    body += _legend([name for name, _ in series])
    return _frame(title, body, "", "")
