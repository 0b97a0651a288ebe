"""Small pieces of the report's HTML: escaped text, numbers, colour swatches and captions."""

from __future__ import annotations

from html import escape

from steerdsl.report import svg
from steerdsl.report.data import Group, Variant

MAX_TEXT_CHARS = 1500


def metric_text(x: float | None) -> str:
    """Metrics in tables: fixed decimals, so 1e-17 of rounding noise reads as 0.000."""
    return "–" if x is None else f"{x:.3f}"


def time_text(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if hasattr(t, "strftime") else esc(t)


def esc(x) -> str:
    return escape(str(x)) if x is not None else "–"


def group_colors(groups: list[Group]) -> dict[tuple[str, str], str]:
    return {(g.model, g.intervention): svg.color(k) for k, g in enumerate(groups)}


def swatch(c: str) -> str:
    return f'<span class="swatch" style="background:{c}"></span>'


def truncate(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS].rstrip() + f" … [{len(text) - MAX_TEXT_CHARS} more characters]"


def variant_note(variant: Variant) -> str:
    if variant == "binned":
        return ("Metrics are the binned variants (METHOD.md section 4, the reference tool's "
                "default): values move in steps of 1/7 of a goal's bin.")
    return "Metrics are the raw variants (unbinned goal-space vectors)."


def caption(n: int, shown: int, what: str) -> str:
    sample = f" ({shown:,} shown)" if shown < n else ""
    return f"<figcaption>{n:,} {what}{sample}</figcaption>"
