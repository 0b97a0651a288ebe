"""Square panels of points or arrows: requested vs realized movement, and flows on two goals."""

from __future__ import annotations

import math
from dataclasses import dataclass

from steerdsl.report.svg.canvas import PALETTE, Canvas, Scale, num, x_axis, y_axis


@dataclass
class Layer:
    """More points on a scatter, drawn over the first ones; `line`: joined in x order."""

    xs: list[float]
    ys: list[float]
    color: str
    line: bool = False


def scatter(xs: list[float], ys: list[float], *, title: str, xlabel: str, ylabel: str,
            xlim: tuple[float, float], ylim: tuple[float, float], dot: str = PALETTE[0],
            diagonal: bool = True, layers: tuple[Layer, ...] = ()) -> str:
    """Points with the y = x line (requested = realized)."""
    size, left, top, bottom = 210, 44, 22, 38
    c = Canvas(left + size + 10, top + size + bottom, title)
    sx = Scale(xlim[0], xlim[1], left, left + size)
    sy = Scale(ylim[0], ylim[1], top + size, top)
    c.text(left + size / 2, 13, title, size=11, extra=' font-weight="bold"')
    y_axis(c, sy, left, left + size, ylabel)
    x_axis(c, sx, top + size, top, xlabel)
    c.line(sx(xlim[0]), sy(0), sx(xlim[1]), sy(0), stroke="#999")
    if diagonal:
        lo, hi = max(xlim[0], ylim[0]), min(xlim[1], ylim[1])
        c.line(sx(lo), sy(lo), sx(hi), sy(hi), stroke="#D55E00", width=1.2,
               extra=' stroke-dasharray="4 3"')
    dots = "".join(f'<circle cx="{num(sx(x))}" cy="{num(sy(y))}" r="2.2"/>'
                   for x, y in zip(xs, ys))
    c.add(f'<g fill="{dot}" fill-opacity="0.6">{dots}</g>')
    for layer in layers:
        if layer.line:
            path = "L".join(f"{num(sx(x))},{num(sy(y))}"
                            for x, y in sorted(zip(layer.xs, layer.ys)))
            if path:
                c.add(f'<path d="M{path}" stroke="{layer.color}" stroke-width="1.6" '
                      'fill="none"/>')
            continue
        dots = "".join(f'<circle cx="{num(sx(x))}" cy="{num(sy(y))}" r="2.2"/>'
                       for x, y in zip(layer.xs, layer.ys))
        c.add(f'<g fill="{layer.color}" fill-opacity="0.7">{dots}</g>')
    return c.render()


@dataclass
class Arrow:
    x0: float
    y0: float
    x1: float
    y1: float


def flow(arrows: list[Arrow], field_arrows: list[Arrow], *, title: str, xlabel: str,
         ylabel: str, line: str = PALETTE[0]) -> str:
    """Realized movements on a pair of goals in [0, 1]^2: thin lines from each source (dot)
    to its output and, bold, the mean movement of the sources in each grid cell."""
    size, left, top, bottom = 210, 44, 22, 38
    c = Canvas(left + size + 10, top + size + bottom, title)
    sx = Scale(0, 1, left, left + size)
    sy = Scale(0, 1, top + size, top)
    c.text(left + size / 2, 13, title, size=10, extra=' font-weight="bold"')
    y_axis(c, sy, left, left + size, ylabel)
    x_axis(c, sx, top + size, top, xlabel)
    thin = "".join(f"M{num(sx(a.x0))},{num(sy(a.y0))}L{num(sx(a.x1))},{num(sy(a.y1))}"
                   for a in arrows)
    if thin:
        c.add(f'<path d="{thin}" stroke="{line}" stroke-opacity="0.55" stroke-width="0.9" '
              'fill="none"/>')
        dots = "".join(f'<circle cx="{num(sx(a.x0))}" cy="{num(sy(a.y0))}" r="1.3"/>'
                       for a in arrows)
        c.add(f'<g fill="{line}" fill-opacity="0.6">{dots}</g>')
    for a in field_arrows:
        x0, y0, x1, y1 = sx(a.x0), sy(a.y0), sx(a.x1), sy(a.y1)
        c.line(x0, y0, x1, y1, stroke="#222", width=1.4)
        c.add(_head(x0, y0, x1, y1))
    return c.render()


def _head(x0: float, y0: float, x1: float, y1: float, size: float = 4.0) -> str:
    """An arrowhead drawn as a triangle (no <marker>: ids would clash between figures)."""
    length = math.hypot(x1 - x0, y1 - y0)
    if length < 1.0:
        return f'<circle cx="{num(x1)}" cy="{num(y1)}" r="1.5" fill="#222"/>'
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    bx, by = x1 - ux * size, y1 - uy * size
    px, py = -uy * size * 0.5, ux * size * 0.5
    return (f'<polygon points="{num(x1)},{num(y1)} {num(bx + px)},{num(by + py)} '
            f'{num(bx - px)},{num(by - py)}" fill="#222"/>')
