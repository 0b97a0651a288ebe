"""A value over training steps, small enough to set several side by side: a line, with a
band of ± its spread when there is one."""

from __future__ import annotations

import math

from steerdsl.report.svg.canvas import PALETTE, Canvas, Scale, nice_ticks, num, tick, y_axis
from steerdsl.report.svg.text import text_width

# Up to this many steps each step also gets a dot (a single step is a dot and nothing else).
MAX_DOTS = 40


def curve(steps: list[int], values: list[float], spread: list[float] | None = None, *,
          title: str, ylabel: str, color: str = PALETTE[0]) -> str:
    """`values[k]` at `steps[k]`; `spread[k]` (a standard deviation) draws values ± spread."""
    left, top, w, h, bottom = 50, 22, 146, 112, 34
    c = Canvas(left + w + 10, top + h + bottom, title)
    spread = spread or [0.0] * len(values)
    points = [(s, v, d if math.isfinite(d) else 0.0)
              for s, v, d in zip(steps, values, spread) if math.isfinite(v)]
    # a long reward name (error_<goal>) in a smaller font rather than over the edges
    size = 11 if text_width(title, 11, bold=True) <= c.width - 8 else 9
    c.text(c.width / 2, 13, title, size=size, extra=' font-weight="bold"')
    if not points:
        c.text(left + w / 2, top + h / 2, "nothing logged", size=10, extra=' fill="#666"')
        return c.render()
    lo = min(v - d for _, v, d in points)
    hi = max(v + d for _, v, d in points)
    pad = (hi - lo) * 0.06 if hi > lo else (abs(hi) * 0.1 or 1.0)
    first, last = points[0][0], points[-1][0]
    # one step: centred, with its tick alone
    sx = Scale(first, last, left, left + w) if last > first else Scale(first - 0.5, first + 0.5,
                                                                       left, left + w)
    sy = Scale(lo - pad, hi + pad, top + h, top)
    y_axis(c, sy, left, left + w, ylabel)
    _step_axis(c, sx, top + h, top)
    if len(points) == 1 and points[0][2] > 0:  # a band of one step: an error bar
        s, v, d = points[0]
        c.line(sx(s), sy(v - d), sx(s), sy(v + d), stroke=color, width=1.2)
        for y in (v - d, v + d):
            c.line(sx(s) - 4, sy(y), sx(s) + 4, sy(y), stroke=color, width=1.2)
    elif any(d > 0 for _, _, d in points):
        upper = [f"{num(sx(s))},{num(sy(v + d))}" for s, v, d in points]
        lower = [f"{num(sx(s))},{num(sy(v - d))}" for s, v, d in reversed(points)]
        c.add(f'<polygon points="{" ".join(upper + lower)}" fill="{color}" '
              'fill-opacity="0.18" stroke="none"/>')
    line = " ".join(f"{num(sx(s))},{num(sy(v))}" for s, v, _ in points)
    c.add(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.6"/>')
    if len(points) <= MAX_DOTS:
        dots = "".join(f'<circle cx="{num(sx(s))}" cy="{num(sy(v))}" r="2"/>'
                       for s, v, _ in points)
        c.add(f'<g fill="{color}">{dots}</g>')
    return c.render()


def _step_axis(c: Canvas, sx: Scale, y: float, y_top: float) -> None:
    """Steps are whole numbers: only whole ticks."""
    ticks = [t for t in nice_ticks(sx.lo, sx.hi) if float(t).is_integer()] or [sx.lo]
    for t in ticks:
        x = sx(t)
        c.line(x, y, x, y_top, stroke="#e4e4e4")
        c.text(x, y + 13, tick(t))
    c.line(sx.px0, y, sx.px1, y)
    c.text((sx.px0 + sx.px1) / 2, y + 27, "step")
