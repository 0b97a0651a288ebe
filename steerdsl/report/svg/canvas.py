"""The drawing surface the charts share: colours, number formats, scales, the canvas and axes.

Coordinates are rounded to 0.1 px to keep the HTML small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

# Okabe-Ito first (distinguishable for colour-blind readers), then Paul Tol's muted colours, so
# up to 12 model x intervention groups get distinct colours; the pale yellow comes last.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#882255", "#999933", "#44AA99", "#6699CC", "#F0E442")
# A viridis-like ramp for heatmaps (light = small, dark = large).
_RAMP = ((0.0, (253, 231, 37)), (0.25, (94, 201, 98)), (0.5, (33, 145, 140)),
         (0.75, (59, 82, 139)), (1.0, (68, 1, 84)))

FONT = 11


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def ramp(t: float) -> str:
    t = min(1.0, max(0.0, t))
    for (t0, c0), (t1, c1) in zip(_RAMP, _RAMP[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            r, g, b = (round(a + (b_ - a) * f) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#440154"


def fmt(x: float | None, digits: int = 3) -> str:
    """A short number for labels: 3 significant digits, no exponent for ordinary values."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{decimals}f}"


def tick(x: float) -> str:
    """Axis labels: as short as exact (0.2, not 0.200); never "-0"."""
    if x == 0:
        return "0"
    return f"{x:.6g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


@dataclass
class Scale:
    lo: float
    hi: float
    px0: float
    px1: float

    def __call__(self, v: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.px0 + (v - self.lo) / span * (self.px1 - self.px0)



def num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


@dataclass
class Canvas:
    width: float
    height: float
    title: str
    parts: list[str] = field(default_factory=list)

    def add(self, s: str) -> None:
        self.parts.append(s)

    def line(self, x1, y1, x2, y2, stroke="#444", width=1.0, extra="") -> None:
        self.add(f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
                 f'stroke="{stroke}" stroke-width="{width}"{extra}/>')

    def rect(self, x, y, w, h, fill, stroke="none", extra="") -> None:
        self.add(f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(w, 0))}" '
                 f'height="{num(max(h, 0))}" fill="{fill}" stroke="{stroke}"{extra}/>')

    def text(self, x, y, s: str, anchor="middle", size=FONT, extra="") -> None:
        self.add(f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}"'
                 f'{extra}>{escape(s)}</text>')

    def render(self) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
                f'viewBox="0 0 {num(self.width)} {num(self.height)}" '
                f'width="{num(self.width)}" height="{num(self.height)}">'
                f'<title>{escape(self.title)}</title>' + "".join(self.parts) + "</svg>")


def y_axis(c: Canvas, sy: Scale, x: float, x_end: float, label: str, grid: bool = True) -> None:
    for t in nice_ticks(min(sy.lo, sy.hi), max(sy.lo, sy.hi)):
        y = sy(t)
        if grid:
            c.line(x, y, x_end, y, stroke="#e4e4e4")
        c.text(x - 4, y + 3.5, tick(t), anchor="end")
    c.line(x, sy.px0, x, sy.px1)
    c.text(12, (sy.px0 + sy.px1) / 2, label, extra=f' transform="rotate(-90 12 '
           f'{num((sy.px0 + sy.px1) / 2)})"')


def x_axis(c: Canvas, sx: Scale, y: float, y_top: float, label: str, grid: bool = True) -> None:
    for t in nice_ticks(min(sx.lo, sx.hi), max(sx.lo, sx.hi)):
        x = sx(t)
        if grid:
            c.line(x, y, x, y_top, stroke="#e4e4e4")
        c.text(x, y + 13, tick(t))
    c.line(sx.px0, y, sx.px1, y)
    c.text((sx.px0 + sx.px1) / 2, y + 27, label)
