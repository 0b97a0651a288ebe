"""Small inline-SVG charts: the report's figures without a plotting library or any script.

Every chart is a function from plain numbers to an SVG string (a viewBox that scales to the
page width). Coordinates are rounded to 0.1 px to keep the HTML small.
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
    """Axis labels: as short as exact (0.2, not 0.200)."""
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


def _n(v: float) -> str:
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
        self.add(f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
                 f'stroke="{stroke}" stroke-width="{width}"{extra}/>')

    def rect(self, x, y, w, h, fill, stroke="none", extra="") -> None:
        self.add(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" '
                 f'height="{_n(max(h, 0))}" fill="{fill}" stroke="{stroke}"{extra}/>')

    def text(self, x, y, s: str, anchor="middle", size=FONT, extra="") -> None:
        self.add(f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}"'
                 f'{extra}>{escape(s)}</text>')

    def render(self) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
                f'viewBox="0 0 {_n(self.width)} {_n(self.height)}" '
                f'width="{_n(self.width)}" height="{_n(self.height)}">'
                f'<title>{escape(self.title)}</title>' + "".join(self.parts) + "</svg>")


def _y_axis(c: Canvas, sy: Scale, x: float, x_end: float, label: str, grid: bool = True) -> None:
    for t in nice_ticks(min(sy.lo, sy.hi), max(sy.lo, sy.hi)):
        y = sy(t)
        if grid:
            c.line(x, y, x_end, y, stroke="#e4e4e4")
        c.text(x - 4, y + 3.5, tick(t), anchor="end")
    c.line(x, sy.px0, x, sy.px1)
    c.text(12, (sy.px0 + sy.px1) / 2, label, extra=f' transform="rotate(-90 12 '
           f'{_n((sy.px0 + sy.px1) / 2)})"')


def _x_axis(c: Canvas, sx: Scale, y: float, y_top: float, label: str, grid: bool = True) -> None:
    for t in nice_ticks(min(sx.lo, sx.hi), max(sx.lo, sx.hi)):
        x = sx(t)
        if grid:
            c.line(x, y, x, y_top, stroke="#e4e4e4")
        c.text(x, y + 13, tick(t))
    c.line(sx.px0, y, sx.px1, y)
    c.text((sx.px0 + sx.px1) / 2, y + 27, label)


# --- box / violin ----------------------------------------------------------------------------


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
    _y_axis(c, sy, left, width - 8, ylabel)
    c.text(width / 2, 13, title, size=12, extra=' font-weight="bold"')
    for i, b in enumerate(boxes):
        cx = left + slot * (i + 0.5)
        if b.counts and max(b.counts) > 0:
            smooth = _smooth(b.counts)
            peak = max(smooth)
            centres = [(e0 + e1) / 2 for e0, e1 in zip(b.edges, b.edges[1:])]
            ys = [b.edges[0], *centres, b.edges[-1]]
            halves = [0.0, *(0.34 * slot * k / peak for k in smooth), 0.0]
            right = [f"{_n(cx + h)},{_n(sy(y))}" for y, h in zip(ys, halves)]
            left_ = [f"{_n(cx - h)},{_n(sy(y))}" for y, h in zip(ys, halves)]
            c.add(f'<polygon points="{" ".join(right + left_[::-1])}" fill="{b.color}" '
                  f'fill-opacity="0.2" stroke="{b.color}" stroke-width="0.8"/>')
        c.line(cx, sy(b.whisker_lo), cx, sy(b.whisker_hi), stroke="#222")
        for w in (b.whisker_lo, b.whisker_hi):
            c.line(cx - 6, sy(w), cx + 6, sy(w), stroke="#222")
        c.rect(cx - 9, sy(b.q3), 18, sy(b.q1) - sy(b.q3), fill=b.color, stroke="#222",
               extra=' fill-opacity="0.85"')
        c.line(cx - 9, sy(b.median), cx + 9, sy(b.median), stroke="#fff", width=2)
        for k, part in enumerate(_wrap(b.label, 12)[:3]):
            c.text(cx, height - bottom + 14 + 11 * k, part, size=10)
        c.text(cx, height - 3, f"n={b.n}", size=9, extra=' fill="#666"')
    return c.render()


def _smooth(counts: list[int]) -> list[float]:
    """A [1, 2, 1] moving average: an outline, not a bar chart."""
    padded = [0, *counts, 0]
    return [(padded[i] + 2 * padded[i + 1] + padded[i + 2]) / 4 for i in range(len(counts))]


def _wrap(label: str, width: int) -> list[str]:
    """Split a label into lines of about `width` characters (after " / " first)."""
    parts = []
    for chunk in label.split(" / "):
        line = ""
        for word in chunk.split():
            if line and len(line) + 1 + len(word) > width:
                parts.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        if line:
            parts.append(line)
    return parts


# --- heatmap ---------------------------------------------------------------------------------


def heatmap(values: list[list[float | None]], *, rows: list[str], cols: list[str], title: str,
            vmax: float, row_title: str, col_title: str) -> str:
    """A matrix of coloured cells with their values; None cells are hatched grey."""
    cell = 40
    longest = max((len(x) for x in cols), default=4)
    left = 12 + 6.2 * max((len(r) for r in rows), default=4)
    top = 30 + 4.2 * longest  # labels rotated by 40 degrees
    width = left + cell * (len(cols) - 0.5) + 4.8 * longest + 10
    height = top + cell * len(rows) + 22
    c = Canvas(width, height, title)
    c.text(left + cell * len(cols) / 2, 13, title, size=12, extra=' font-weight="bold"')
    for j, name in enumerate(cols):
        x = left + cell * (j + 0.5)
        c.text(x, top - 6, name, anchor="start", size=10,
               extra=f' transform="rotate(-40 {_n(x)} {_n(top - 6)})"')
    for i, name in enumerate(rows):
        y = top + cell * i
        c.text(left - 5, y + cell / 2 + 3.5, name, anchor="end", size=10)
        for j, v in enumerate(values[i]):
            x = left + cell * j
            if v is None:
                c.rect(x, y, cell - 1, cell - 1, fill="#f0f0f0")
                c.text(x + cell / 2, y + cell / 2 + 3.5, "–", size=10, extra=' fill="#999"')
                continue
            t = v / vmax if vmax > 0 else 0.0
            c.rect(x, y, cell - 1, cell - 1, fill=ramp(t))
            ink = "#fff" if t > 0.45 else "#111"
            c.text(x + cell / 2, y + cell / 2 + 3.5, fmt(v, 2), size=10, extra=f' fill="{ink}"')
    c.text(left + cell * len(cols) / 2, height - 6, f"columns: {col_title}; rows: {row_title}",
           size=9, extra=' fill="#555"')
    return c.render()


def color_scale(vmax: float, *, label: str) -> str:
    """The heatmaps' colour key: 0 .. vmax in 20 steps."""
    steps, w, left = 20, 9, 10
    c = Canvas(left + steps * w + 12 + 6.5 * len(label), 40, f"colour scale: {label}")
    for k in range(steps):
        c.rect(left + k * w, 4, w, 14, fill=ramp((k + 0.5) / steps))
    c.text(left, 31, "0", anchor="start", size=10)
    c.text(left + steps * w, 31, fmt(vmax, 2), anchor="end", size=10)
    c.text(left + steps * w + 6, 15, label, anchor="start", size=10)
    return c.render()


# --- scatter and flow ------------------------------------------------------------------------


def scatter(xs: list[float], ys: list[float], *, title: str, xlabel: str, ylabel: str,
            xlim: tuple[float, float], ylim: tuple[float, float], dot: str = PALETTE[0],
            diagonal: bool = True) -> str:
    """Points with the y = x line (requested = realized)."""
    size, left, top, bottom = 210, 44, 22, 38
    c = Canvas(left + size + 10, top + size + bottom, title)
    sx = Scale(xlim[0], xlim[1], left, left + size)
    sy = Scale(ylim[0], ylim[1], top + size, top)
    c.text(left + size / 2, 13, title, size=11, extra=' font-weight="bold"')
    _y_axis(c, sy, left, left + size, ylabel)
    _x_axis(c, sx, top + size, top, xlabel)
    c.line(sx(xlim[0]), sy(0), sx(xlim[1]), sy(0), stroke="#999")
    if diagonal:
        lo, hi = max(xlim[0], ylim[0]), min(xlim[1], ylim[1])
        c.line(sx(lo), sy(lo), sx(hi), sy(hi), stroke="#D55E00", width=1.2,
               extra=' stroke-dasharray="4 3"')
    dots = "".join(f'<circle cx="{_n(sx(x))}" cy="{_n(sy(y))}" r="2.2"/>'
                   for x, y in zip(xs, ys))
    c.add(f'<g fill="{dot}" fill-opacity="0.6">{dots}</g>')
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
    _y_axis(c, sy, left, left + size, ylabel)
    _x_axis(c, sx, top + size, top, xlabel)
    thin = "".join(f"M{_n(sx(a.x0))},{_n(sy(a.y0))}L{_n(sx(a.x1))},{_n(sy(a.y1))}"
                   for a in arrows)
    if thin:
        c.add(f'<path d="{thin}" stroke="{line}" stroke-opacity="0.55" stroke-width="0.9" '
              'fill="none"/>')
        dots = "".join(f'<circle cx="{_n(sx(a.x0))}" cy="{_n(sy(a.y0))}" r="1.3"/>'
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
        return f'<circle cx="{_n(x1)}" cy="{_n(y1)}" r="1.5" fill="#222"/>'
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    bx, by = x1 - ux * size, y1 - uy * size
    px, py = -uy * size * 0.5, ux * size * 0.5
    return (f'<polygon points="{_n(x1)},{_n(y1)} {_n(bx + px)},{_n(by + py)} '
            f'{_n(bx - px)},{_n(by - py)}" fill="#222"/>')


# --- lines ------------------------------------------------------------------------------------


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
    _y_axis(c, sy, left, left + w, ylabel)
    _x_axis(c, sx, top + h, top, xlabel)
    for i, s in enumerate(series):
        pts = " ".join(f"{_n(sx(x))},{_n(sy(y))}" for x, y in zip(s.xs, s.ys) if y is not None)
        c.add(f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="1.8"/>')
        for x, y in zip(s.xs, s.ys):
            if y is not None:
                c.add(f'<circle cx="{_n(sx(x))}" cy="{_n(sy(y))}" r="2.5" fill="{s.color}"/>')
        ly = top + h + bottom + 14 * i + 4
        c.line(left, ly - 4, left + 18, ly - 4, stroke=s.color, width=2.5)
        c.text(left + 24, ly, s.label, anchor="start", size=10)
    return c.render()


# Label geometry for layout: generous advances of sans-serif characters (in em; DejaVu Sans,
# the widest common default, stays within them), and the part of a line above and below its
# baseline, so computed boxes contain the drawn text.
_NARROW = set("fijltI.,:;'|!()[] ")
_WIDE = set("mwMW@%#&+<=>^~")
BOLD_FACTOR = 1.15
ASCENT_EM = 0.8
DESCENT_EM = 0.25
# Group labels that do not fit their slot are drawn at this angle (degrees, rising to the right).
LABEL_ANGLE = 40


def _char_em(ch: str) -> float:
    if ch in _NARROW:
        return 0.46
    if ch in _WIDE or not ch.isascii():
        return 1.0
    return 0.8 if ch.isupper() else 0.64


def text_width(s: str, size: float, bold: bool = False) -> float:
    return sum(map(_char_em, s)) * size * (BOLD_FACTOR if bold else 1.0)


@dataclass
class GroupLabels:
    """Where the group names under a bar chart go: horizontal lines when every name fits its
    slot, otherwise one rotated line each, ending under its group."""
    lines: list[list[str]]  # per group: the lines of its label (one when rotated)
    rotated: bool
    depth: float  # the height the labels need below the axis
    overhang: float  # how far the labels reach left of the room given them (0 when inside)


def group_labels(names: list[str], slot: float, room: float, size: float = 10) -> GroupLabels:
    """`room`: the width left of the first slot the labels may use (under the y axis's tick
    labels, which end above them)."""
    wrapped = [_wrap(name, 12) for name in names]
    if all(len(lines) <= 3 and all(text_width(line, size) <= slot - 4 for line in lines)
           for lines in wrapped):
        return GroupLabels(wrapped, False, 13 + 11 * max((len(w) for w in wrapped), default=1),
                           0.0)
    a = math.radians(LABEL_ANGLE)
    # A rotated label's box, measured from its anchor (the end of its baseline): it runs
    # down-left for its width; the glyphs' ascent sticks out up-left, their descent down-right.
    down = [text_width(n, size) * math.sin(a) + DESCENT_EM * size * math.cos(a) for n in names]
    reach = [text_width(n, size) * math.cos(a) + ASCENT_EM * size * math.sin(a)
             - slot * (g + 0.5) for g, n in enumerate(names)]
    return GroupLabels([[n] for n in names], True, _LABEL_GAP + max(down, default=0.0) + 4,
                       max(0.0, max(reach, default=0.0) - room))


# Space between the axis line and the anchors of rotated labels: their ascent, tilted, rises
# ASCENT_EM * size * cos(angle) above the anchor.
_LABEL_GAP = 12


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
    _y_axis(c, sy, left, left + w, ylabel)
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
            ay = top + h + _LABEL_GAP
            c.text(cx, ay, lines[0], anchor="end", size=10,
                   extra=f' transform="rotate(-{LABEL_ANGLE} {_n(cx)} {_n(ay)})"')
            continue
        for k, part in enumerate(lines):
            c.text(cx, top + h + 13 + 11 * k, part, size=10)
    for i, s in enumerate(series):
        ly = top + h + bottom + 14 * i + 4
        c.rect(left, ly - 9, 12, 10, fill=s.color)
        c.text(left + 18, ly, s.label, anchor="start", size=10)
    return c.render()
