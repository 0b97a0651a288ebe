"""The closed-loop feedback section: per feedback intervention, the three metrics after each
round (median and IQR; round 0 is the first answer) and how many answers each round revised,
with a line chart of the medians by round."""

from __future__ import annotations

from steerdsl.report import svg
from steerdsl.report.data import METRIC_TITLES, METRICS, FeedbackRounds, StoreData, Variant
from steerdsl.report.markup import esc, group_colors, metric_text, swatch, variant_note


def feedback_section(d: StoreData, anchor: str, variant: Variant) -> str:
    if not d.feedback:
        return ""
    colors = group_colors(d.header.groups)
    parts = []
    for f in d.feedback:
        key = swatch(colors[(f.model, f.intervention)]) if (f.model, f.intervention) in colors \
            else ""
        parts.append(f"<h3>{key}{esc(f.model)} / {esc(f.intervention)}</h3>"
                     f"<div class='figs'>{_table(f)}<figure>{_chart(f)}</figure></div>")
    return (f"<section id='{anchor}-feedback'><h2>Closed-loop feedback</h2>"
            "<p class='lead'>After each answer, its misses (goals further than the deadzone "
            "from their target) were told to the model in the same conversation and a "
            "revision asked for, until every goal landed or the rounds ran out. Each row: the "
            "answers as they stood after that round (an answer that landed earlier keeps its "
            "value), median (IQR); the last round's are the scored answers. "
            f"{variant_note(variant)}</p>" + "".join(parts) + "</section>")


def _table(f: FeedbackRounds) -> str:
    head = ("<tr><th>round</th><th class='num'>requests</th>"
            + "".join(f"<th class='num'>{METRIC_TITLES[m]}</th>" for m in METRICS) + "</tr>")
    body = []
    for r in sorted(f.stats):
        cells = []
        for m in METRICS:
            n, median, q1, q3 = f.stats[r].get(m, (0, None, None, None))
            iqr = None if q1 is None or q3 is None else q3 - q1
            cells.append(f"<td class='num'>{metric_text(median)} ({metric_text(iqr)})</td>")
        body.append(f"<tr><td>{r}</td><td class='num'>{f.revised.get(r, 0)}</td>"
                    f"{''.join(cells)}</tr>")
    return f"<table class='feedback'>{head}{''.join(body)}</table>"


def _chart(f: FeedbackRounds) -> str:
    rounds = sorted(f.stats)
    series = [svg.Series(METRIC_TITLES[m], svg.color(k), [float(r) for r in rounds],
                         [f.stats[r].get(m, (0, None))[1] for r in rounds])
              for k, m in enumerate(METRICS)]
    return svg.line_chart(series, title="median by round", xlabel="round", ylabel="median")
