"""The example rewrites section: the same probe rows answered by each group, goal by goal."""

from __future__ import annotations

from steerdsl.report.data import METRIC_TITLES, Example, StoreData
from steerdsl.report.markup import esc, metric_text, truncate


def examples_section(d: StoreData, anchor: str) -> str:
    if not d.examples:
        return ""
    parts = []
    last_row = None
    for ex in d.examples:
        if ex.row_id != last_row:
            parts.append(f"<h3>Probe row {ex.row_id}</h3><div class='text'>"
                         f"{esc(truncate(ex.source))}</div>"
                         if ex.source else f"<h3>Probe row {ex.row_id}</h3>")
            last_row = ex.row_id
        parts.append(_example(ex))
    shown = len({e.group.label for e in d.examples})
    more = (f" Showing the first {shown} of {len(d.header.groups)} model x intervention "
            "groups." if shown < len(d.header.groups) else "")
    return (f"<section id='{anchor}-examples'><h2>Example rewrites</h2>"
            "<p class='lead'>The same probe rows answered by each model and intervention "
            f"(selected answers; rows chosen by a content hash, not by quality).{more}</p>"
            + "".join(parts) + "</section>")


def _example(ex: Example) -> str:
    rows = []
    for goal, source, delta, target, output in ex.goals:
        move = None if source is None or output is None else output - source
        asked = f"{delta:+.3f}" if delta is not None else "not asked"
        rows.append(f"<tr><td>{esc(goal)}</td><td class='num'>{metric_text(source)}</td>"
                    f"<td class='num'>{asked}</td><td class='num'>{metric_text(target)}</td>"
                    f"<td class='num'>{metric_text(output)}</td>"
                    f"<td class='num'>{'–' if move is None else f'{move:+.3f}'}</td></tr>")
    metrics = ", ".join(f"{METRIC_TITLES[k]} {metric_text(v)}" for k, v in ex.metrics.items())
    request = (f"<p><b>Request:</b> {esc(ex.request)}</p>" if ex.request else "")
    return (f"<div class='example'><p><b>{esc(ex.group.label)}</b> · {metrics}</p>{request}"
            f"<div class='text'>{esc(truncate(ex.answer))}</div>"
            "<table><tr><th>goal</th><th class='num'>source</th><th class='num'>delta</th>"
            "<th class='num'>target</th><th class='num'>output</th><th class='num'>movement"
            "</th></tr>" + "".join(rows) + "</table></div>")
