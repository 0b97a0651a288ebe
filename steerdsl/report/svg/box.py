"""Box plots over violins: the distribution of a metric per group."""

from __future__ import annotations

from dataclasses import dataclass, field

from steerdsl.report.svg.canvas import Canvas, Scale, num, y_axis
from steerdsl.report.svg.text import wrap


@dataclass
class Box:
    label: str
    color: str
    n: int
    q1: float
    median: float
    q3: float
    whisker_lo: float
    whisker_hi: float
    # Histogram for the violin outline: bin edges (len k+1) and counts (len k).
    edges: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


def box_plot(boxes: list[Box], *, title: str, ylabel: str, ylim: tuple[float, float]) -> str:
    """Violins (histogram outlines) with a box (IQR), median line and Tukey whiskers."""
    slot = 74
    left, top, bottom = 52, 22, 50
    width = left + slot * max(1, len(boxes)) + 12
    height = 236
    c = Canvas(width, height, title)
    sy = Scale(ylim[0], ylim[1], height - bottom, top)
    y_axis(c, sy, left, width - 8, ylabel)
    c.text(width / 2, 13, title, size=12, extra=' font-weight="bold"')
    for i, b in enumerate(boxes):
        cx = left + slot * (i + 0.5)
        if b.counts and max(b.counts) > 0:
            smooth = _smooth(b.counts)
            peak = max(smooth)
            centres = [(e0 + e1) / 2 for e0, e1 in zip(b.edges, b.edges[1:])]
            ys = [b.edges[0], *centres, b.edges[-1]]
            halves = [0.0, *(0.34 * slot * k / peak for k in smooth), 0.0]
            right = [f"{num(cx + h)},{num(sy(y))}" for y, h in zip(ys, halves)]
            left_ = [f"{num(cx - h)},{num(sy(y))}" for y, h in zip(ys, halves)]
            c.add(f'<polygon points="{" ".join(right + left_[::-1])}" fill="{b.color}" '
                  f'fill-opacity="0.2" stroke="{b.color}" stroke-width="0.8"/>')
        c.line(cx, sy(b.whisker_lo), cx, sy(b.whisker_hi), stroke="#222")
        for w in (b.whisker_lo, b.whisker_hi):
            c.line(cx - 6, sy(w), cx + 6, sy(w), stroke="#222")
        c.rect(cx - 9, sy(b.q3), 18, sy(b.q1) - sy(b.q3), fill=b.color, stroke="#222",
               extra=' fill-opacity="0.85"')
        c.line(cx - 9, sy(b.median), cx + 9, sy(b.median), stroke="#fff", width=2)
        for k, part in enumerate(wrap(b.label, 12)[:3]):
            c.text(cx, height - bottom + 14 + 11 * k, part, size=10)
        c.text(cx, height - 3, f"n={b.n}", size=9, extra=' fill="#666"')
    return c.render()


def _smooth(counts: list[int]) -> list[float]:
    """A [1, 2, 1] moving average: an outline, not a bar chart."""
    padded = [0, *counts, 0]
    return [(padded[i] + 2 * padded[i + 1] + padded[i + 2]) / 4 for i in range(len(counts))]
