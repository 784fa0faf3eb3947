"""Charts as inline SVG, drawn on the server: no script, no library, no request. Colours come from the stylesheet
(classes), so they follow the light or dark scheme; each chart has a title and a text description for readers
that cannot see it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

WIDTH = 480
LABEL_W = 150  # room for the labels left of horizontal bars


def _svg(height: int, label: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="xMinYMin meet"><title>{escape(label)}</title>{body}</svg>'
    )


def per_day(counts: Mapping[str, int]) -> Markup:
    """Questions per day: one bar a day, the busiest day's count on the axis."""
    if not counts:
        return Markup('<p class="hint">No questions in this period.</p>')
    height, left, bottom, top_pad = 200, 40, 30, 14
    top = max(counts.values()) or 1
    step = (WIDTH - left) / len(counts)
    width = min(step * 0.7, 36.0)
    every = max(1, round(len(counts) / 6))  # about six dates under the axis
    parts = [
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0</text>',
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}"/>',
    ]
    for i, (day, n) in enumerate(counts.items()):
        bar = (height - bottom - top_pad) * n / top
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x + (step - width) / 2:.1f}" y="{height - bottom - bar:.1f}" width="{width:.1f}" '
            f'height="{bar:.1f}"><title>{escape(day)}: {n}</title></rect>'
        )
        if i % every == 0 or i == len(counts) - 1:
            below = height - bottom + 18
            parts.append(f'<text x="{x + step / 2:.1f}" y="{below}" text-anchor="middle">{escape(day[5:])}</text>')
    total = sum(counts.values())
    label = f"Questions per day: {total} in {len(counts)} days, at most {top} a day"
    return _svg(height, label, "".join(parts))


def shares(parts: Sequence[tuple[str, int]]) -> Markup:
    """How a whole splits (answered and "I do not know"; helpful, not helpful, not rated): one stacked bar."""
    total = sum(n for _, n in parts)
    if not total:
        return Markup('<p class="hint">Nothing to count in this period.</p>')
    drawn, x = [], 0.0
    legend = []
    for i, (name, n) in enumerate(parts):
        width = WIDTH * n / total
        drawn.append(
            f'<rect class="s{i}" x="{x:.1f}" y="0" width="{width:.1f}" height="28">'
            f"<title>{escape(name)}: {n}</title></rect>"
        )
        legend.append(
            f'<rect class="s{i}" x="0" y="{40 + i * 20}" width="12" height="12"/>'
            f'<text x="18" y="{51 + i * 20}">{escape(name)}: {n} ({100 * n / total:.0f} %)</text>'
        )
        x += width
    label = ", ".join(f"{name} {n} of {total}" for name, n in parts)
    return _svg(44 + 20 * len(parts), label, "".join(drawn + legend))


def latency(by_mode: Mapping[str, Mapping[str, float]]) -> Markup:
    """p50 and p95 of the whole answer's time, per answer mode: two bars a mode, on one scale."""
    if not by_mode:
        return Markup('<p class="hint">No answers in this period.</p>')
    top = max(v["p95"] for v in by_mode.values()) or 1.0
    row, parts = 26, []
    for i, (mode, figures) in enumerate(by_mode.items()):
        y = i * (2 * row + 14)
        parts.append(f'<text x="0" y="{y + row - 8}">{escape(mode)} (n={int(figures["n"])})</text>')
        for j, key in enumerate(("p50", "p95")):
            width = (WIDTH - LABEL_W - 110) * figures[key] / top
            parts.append(
                f'<rect class="{key}" x="{LABEL_W}" y="{y + j * row}" width="{width:.1f}" height="{row - 6}">'
                f"<title>{escape(mode)} {key}: {figures[key]:.0f} ms</title></rect>"
                f'<text x="{LABEL_W + width + 6:.1f}" y="{y + j * row + row - 11}">{key} {figures[key]:.0f} ms</text>'
            )
    label = "; ".join(f"{m}: p50 {v['p50']:.0f} ms, p95 {v['p95']:.0f} ms" for m, v in by_mode.items())
    return _svg(len(by_mode) * (2 * row + 14), f"Latency by mode: {label}", "".join(parts))
