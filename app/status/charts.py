"""Server-rendered SVG charts: no script, no CDN, no style attributes (the CSP forbids them).

Each chart is an <svg role="img"> named by its <title> and described by its <desc>; colours come
from presentation attributes, overridable by the .chart classes in app.css. Pages put the same
figures in a table inside <details> next to the chart for screen readers and for copying.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from markupsafe import Markup, escape

from ..i18n import _l, gettext

COLOURS = ("#1f5fbf", "#b3261e", "#1d7a46", "#9a6200")
# The viewBox: the chart scales to the width of its box (app.css), words with it; on a phone
# the words are drawn at 22 units instead of 12, so labels are spaced for that size.
WIDTH, HEIGHT = 900, 280
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 32, 48
MAX_X_LABELS = 8
LABEL_CHAR = 13  # the width of one character of an axis label at its largest size


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _nice_step(top: float, ticks: int = 4, whole: bool = False) -> float:
    """A round step for about `ticks` grid lines; for whole counts, a whole step (1, 2, 5,
    10, 20...: never 0.25 of an order)."""
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next((f * magnitude for f in factors if raw <= f * magnitude), 10 * magnitude)
    return max(1.0, step) if whole else step


def _scale(values: Sequence[float], reference: float | None) -> tuple[float, float]:
    whole = all(float(v).is_integer() for v in [*values, reference or 0])
    top = max([*values, reference or 0, 0])
    if top <= 0:
        return (1.0, 1.0) if whole else (1.0, 0.25)
    step = _nice_step(top, whole=whole)
    return step * math.ceil(top / step), step


def _label_every(labels: Sequence[str]) -> int:
    """Show every n-th x-axis label, so that labels never overlap at their largest size."""
    if not labels:
        return 1
    room = WIDTH - LEFT - RIGHT
    fits = max(1, int(room // (max(len(label) for label in labels) * LABEL_CHAR + 16)))
    return max(1, math.ceil(len(labels) / min(fits, MAX_X_LABELS)))


def _open(chart_id: str, title: str, desc: str, css: str) -> list[str]:
    return [
        f'<svg class="chart {css}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'preserveAspectRatio="xMidYMid meet" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'id="{chart_id}" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _axes(
    parts: list[str], labels: Sequence[str], xs: Sequence[float], top: float, step: float
) -> None:
    plot_h = HEIGHT - TOP - BOTTOM
    parts.append('<g class="chart-grid" aria-hidden="true">')
    value = 0.0
    while value <= top + step / 1000:
        y = TOP + plot_h - plot_h * value / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee5" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6675">{escape(_number(value))}</text>'
        )
        value += step
    every = _label_every(labels)
    for index, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if index % every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#5b6675">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="#5b6675" stroke-width="1"/>'
    )
    parts.append("</g>")


def _legend(parts: list[str], names: Sequence[str], reference_label: str = "") -> None:
    x = LEFT
    parts.append('<g class="chart-legend" aria-hidden="true">')
    for index, name in enumerate(names):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}" class="series-{index}"/>'
            f'<text x="{x + 16}" y="18" fill="#1c2430">{escape(name)}</text>'
        )
        x += 28 + LABEL_CHAR * len(name)
    if reference_label:
        parts.append(
            f'<line x1="{x}" x2="{x + 16}" y1="14" y2="14" stroke="#9a6200" stroke-width="2" stroke-dasharray="4 3"/>'
            f'<text x="{x + 20}" y="18" fill="#1c2430">{escape(reference_label)}</text>'
        )
    parts.append("</g>")


def _reference(parts: list[str], reference: float | None, top: float, label: str) -> None:
    if reference is None:
        return
    plot_h = HEIGHT - TOP - BOTTOM
    y = TOP + plot_h - plot_h * reference / top
    parts.append(
        f'<line class="chart-reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
        f'stroke="#9a6200" stroke-width="2" stroke-dasharray="6 4"><title>{escape(label)}: {escape(_number(reference))}</title></line>'
    )


def _segments(coords: list, labels: Sequence[str], breaks: Collection[str]) -> list[list]:
    """The coordinates split where a label in `breaks` starts a new line."""
    segments: list[list] = [[]]
    for point, label in zip(coords, labels, strict=False):
        if label in breaks and segments[-1]:
            segments.append([])
        segments[-1].append(point)
    return segments


def _breaks(
    parts: list[str], labels: Sequence[str], xs: Sequence[float], breaks: Collection[str], text: str
) -> None:
    for label, x in zip(labels, xs, strict=True):
        if label in breaks and x != xs[0]:
            parts.append(
                f'<line class="chart-break" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                f'stroke="#5b6675" stroke-width="1" stroke-dasharray="2 3"><title>{escape(label)}: '
                f"{escape(text)}</title></line>"
            )


def no_data(message: str = _l("No data for this range.")) -> Markup:
    return Markup('<p class="chart-empty">{}</p>').format(message)


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    series: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    reference: float | None = None,
    reference_label: str = "",
    breaks: Collection[str] = (),
    break_label: str = "",
) -> Markup:
    """One or more lines over the same labels: series = [(name, [(label, value), ...]), ...].
    At each label in `breaks` a line starts afresh (a running total that begins again is not a
    drop), marked by a dotted vertical line titled `break_label`."""
    series = [(name, list(points)) for name, points in series if points]
    if not series:
        return no_data()
    labels = [label for label, _ in series[0][1]]
    values = [value for _, points in series for _, value in points]
    top, step = _scale(values, reference)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    inset = 24  # room for the first and last labels
    gap = (plot_w - 2 * inset) / (len(labels) - 1) if len(labels) > 1 else 0
    xs = [
        LEFT + (inset + index * gap if len(labels) > 1 else plot_w / 2)
        for index in range(len(labels))
    ]
    parts = _open(chart_id, title, desc, "chart-line")
    _axes(parts, labels, xs, top, step)
    _reference(parts, reference, top, reference_label or gettext("Reference"))
    _breaks(parts, labels, xs, breaks, break_label)
    for index, (name, points) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        coords = [
            (xs[position], TOP + plot_h - plot_h * value / top)
            for position, (_, value) in enumerate(points[: len(xs)])
        ]
        for segment in _segments(coords, [label for label, _ in points], breaks):
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            parts.append(
                f'<polyline class="series-{index}" points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        if len(coords) <= 62:
            for (x, y), (label, value) in zip(coords, points, strict=False):
                parts.append(
                    f'<circle class="series-{index}" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                    f"<title>{escape(name)}, {escape(label)}: {escape(_number(value))}</title></circle>"
                )
    if len(series) > 1 or reference is not None:
        _legend(
            parts, [name for name, _ in series], reference_label if reference is not None else ""
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    reference: float | None = None,
    reference_label: str = "",
) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    labels = list(labels)
    series = [(name, list(values)) for name, values in series]
    if not labels or not series:
        return no_data()
    values = [value for _, values in series for value in values]
    top, step = _scale(values, reference)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group = plot_w / len(labels)
    bar = min(48.0, max(1.0, group * 0.8 / len(series)))
    offset = (group - bar * len(series)) / 2
    xs = [LEFT + group * (index + 0.5) for index in range(len(labels))]
    parts = _open(chart_id, title, desc, "chart-bars")
    _axes(parts, labels, xs, top, step)
    for index, (name, numbers) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        for position, value in enumerate(numbers[: len(labels)]):
            height = plot_h * value / top
            x = LEFT + group * position + offset + bar * index
            parts.append(
                f'<rect class="series-{index}" x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(name)}, {escape(labels[position])}: '
                f"{escape(_number(value))}</title></rect>"
            )
    _reference(parts, reference, top, reference_label or gettext("Reference"))
    if len(series) > 1 or reference is not None:
        _legend(
            parts, [name for name, _ in series], reference_label if reference is not None else ""
        )
    parts.append("</svg>")
    return Markup("".join(parts))
