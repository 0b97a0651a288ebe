"""Charts of series: lines over N and grouped bars, with a legend of the series."""

from __future__ import annotations

from dataclasses import dataclass

from steerdsl.report.svg.canvas import Canvas, Scale, num, x_axis, y_axis
from steerdsl.report.svg.text import LABEL_ANGLE, LABEL_GAP, group_labels, text_width


@dataclass
class Series:
    label: str
    color: str
    xs: list[float]
    ys: list[float]


def line_chart(series: list[Series], *, title: str, xlabel: str, ylabel: str) -> str:
    left, top, w, h, bottom = 52, 22, 290, 170, 40
    legend_h = 14 * len(series)
    c = Canvas(left + w + 12, top + h + bottom + legend_h, title)
    xs_all = [x for s in series for x in s.xs] or [1.0]
    ys_all = [y for s in series for y in s.ys if y is not None] or [0.0]
    ylo, yhi = min(0.0, min(ys_all)), max(ys_all)
    if yhi <= ylo:
        yhi = ylo + 1.0
    sx = Scale(min(xs_all), max(max(xs_all), min(xs_all) + 1), left, left + w)
    sy = Scale(ylo, yhi * 1.05, top + h, top)
    c.text(left + w / 2, 13, title, size=12, extra=' font-weight="bold"')
    y_axis(c, sy, left, left + w, ylabel)
    x_axis(c, sx, top + h, top, xlabel)
    for i, s in enumerate(series):
        pts = " ".join(f"{num(sx(x))},{num(sy(y))}" for x, y in zip(s.xs, s.ys) if y is not None)
        c.add(f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="1.8"/>')
        for x, y in zip(s.xs, s.ys):
            if y is not None:
                c.add(f'<circle cx="{num(sx(x))}" cy="{num(sy(y))}" r="2.5" fill="{s.color}"/>')
        ly = top + h + bottom + 14 * i + 4
        c.line(left, ly - 4, left + 18, ly - 4, stroke=s.color, width=2.5)
        c.text(left + 24, ly, s.label, anchor="start", size=10)
    return c.render()


def bars(groups: list[str], series: list[Series], *, title: str, ylabel: str) -> str:
    """Grouped bars: one group per label, one bar per series (series.ys aligned to groups)."""
    top, h = 22, 160
    slot = max(40, 16 * len(series) + 14)
    w = slot * len(groups)
    labels = group_labels(groups, slot, room=48)
    left = 52 + labels.overhang
    bottom = max(56, labels.depth + 8)
    legend_h = 14 * len(series)
    legend_w = max((18 + text_width(s.label, 10) for s in series), default=0.0)
    title_w = text_width(title, 12, bold=True)
    width = max(left + w + 12, left + legend_w + 4, title_w + 8)
    c = Canvas(width, top + h + bottom + legend_h, title)
    ys_all = [y for s in series for y in s.ys if y is not None] or [1.0]
    sy = Scale(0.0, max(ys_all) * 1.1 or 1.0, top + h, top)
    # over the plot, unless the title is wider than the plot: then over the whole chart
    title_x = min(max(left + w / 2, title_w / 2 + 4), width - title_w / 2 - 4)
    c.text(title_x, 13, title, size=12, extra=' font-weight="bold"')
    y_axis(c, sy, left, left + w, ylabel)
    c.line(left, top + h, left + w, top + h)
    bw = (slot - 14) / max(1, len(series))
    for g, lines in enumerate(labels.lines):
        x0 = left + slot * g + 7
        for i, s in enumerate(series):
            y = s.ys[g]
            if y is None:
                continue
            c.rect(x0 + bw * i, sy(y), bw - 1, sy(0) - sy(y), fill=s.color)
        cx = left + slot * (g + 0.5)
        if labels.rotated:
            ay = top + h + LABEL_GAP
            c.text(cx, ay, lines[0], anchor="end", size=10,
                   extra=f' transform="rotate(-{LABEL_ANGLE} {num(cx)} {num(ay)})"')
            continue
        for k, part in enumerate(lines):
            c.text(cx, top + h + 13 + 11 * k, part, size=10)
    for i, s in enumerate(series):
        ly = top + h + bottom + 14 * i + 4
        c.rect(left, ly - 9, 12, 10, fill=s.color)
        c.text(left + 18, ly, s.label, anchor="start", size=10)
    return c.render()
