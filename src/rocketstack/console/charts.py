"""Small SVG charts drawn on the server: bars for counts and lines for durations, with a
title and description for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 200
LEFT = 56
RIGHT = 12
TOP = 12
BOTTOM = 28


@dataclass(frozen=True)
class Chart:
    title: str
    markup: Markup


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    css_class: str


def _nice_max(value: float) -> float:
    """Round `value` up to 1, 2 or 5 times a power of ten, so axis labels read well."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    kind: str,
    unit: str = "",
) -> Chart:
    """Draw `series` over the bins named by `labels`; `kind` is "bars" or "lines"."""
    count = max(1, len(labels))
    peak = max((v for s in series for v in s.values if v is not None), default=0.0)
    top = _nice_max(peak)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    step = plot_width / count

    def y(value: float) -> float:
        return TOP + plot_height - (value / top) * plot_height

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        level = y(top * fraction)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" y2="{level:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{level + 4:.1f}" text-anchor="end">'
            f"{escape(_number(top * fraction))}{escape(unit)}</text>"
        )
    for index in (0, count // 2, count - 1):
        if index < len(labels):
            x = LEFT + step * index + step / 2
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(labels[index])}</text>"
            )
    if kind == "bars":
        width = step / max(1, len(series))
        for offset, item in enumerate(series):
            for index, value in enumerate(item.values):
                if not value:
                    continue
                x = LEFT + step * index + width * offset
                parts.append(
                    f'<rect class="{item.css_class}" x="{x + 0.5:.1f}" y="{y(value):.1f}" '
                    f'width="{max(1.0, width - 1):.1f}" height="{y(0) - y(value):.1f}">'
                    f"<title>{escape(labels[index])}: {escape(_number(value))}{escape(unit)} "
                    f"{escape(item.label)}</title></rect>"
                )
    else:
        for item in series:
            points = [
                f"{LEFT + step * index + step / 2:.1f},{y(value):.1f}"
                for index, value in enumerate(item.values)
                if value is not None
            ]
            if len(points) == 1:
                x_text, y_text = points[0].split(",")
                parts.append(f'<circle class="{item.css_class}" cx="{x_text}" cy="{y_text}" r="3"/>')
            elif points:
                parts.append(f'<polyline class="{item.css_class}" points="{" ".join(points)}"/>')
    parts.append("</svg>")
    return Chart(title, Markup("".join(parts)))
