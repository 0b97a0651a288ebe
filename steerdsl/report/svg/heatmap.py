"""Heatmaps of a goal x goal matrix, and their colour key."""

from __future__ import annotations

from steerdsl.report.svg.canvas import Canvas, fmt, num, ramp


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
               extra=f' transform="rotate(-40 {num(x)} {num(top - 6)})"')
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
