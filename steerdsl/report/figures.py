"""The report's figure sections: distributions, side effects, flows, requested vs realized
movement, and best-of-N curves."""

from __future__ import annotations

from steerdsl.report import svg
from steerdsl.report.data import METRIC_TITLES, METRICS, StoreData
from steerdsl.report.markup import caption, esc, group_colors


def distribution_section(d: StoreData, anchor: str) -> str:
    colors = group_colors(d.header.groups)
    figs = []
    for dist in d.distributions:
        boxes = []
        for g in d.header.groups:
            key = (g.model, g.intervention)
            if key not in dist.boxes:
                continue
            n, q1, med, q3, wlo, whi, edges, counts = dist.boxes[key]
            boxes.append(svg.Box(g.label, colors[key], n, q1, med, q3, wlo, whi, edges, counts))
        title = METRIC_TITLES[dist.metric]
        figs.append(f"<figure>{svg.box_plot(boxes, title=title, ylabel=title, ylim=dist.ylim)}"
                    "</figure>")
    return (f"<section id='{anchor}-distributions'><h2>Distributions</h2>"
            "<p class='lead'>Box: quartiles and median (white line); whiskers: 1.5 IQR; shaded "
            "outline: histogram of the values. The axis ends just above the highest whisker, so "
            "far outliers are left out of the picture (not out of the statistics).</p>"
            f"<div class='figs'>{''.join(figs)}</div></section>")


def side_effects_section(d: StoreData, anchor: str) -> str:
    goals = [g.name for g in d.header.goals]
    colors = group_colors(d.header.groups)
    parts = []
    req, unreq = [], []
    for g in d.header.groups:
        key = (g.model, g.intervention)
        req.append(svg.Series(g.label, colors[key], [],
                              [d.side_effects.by_goal.get((*key, goal), (None,) * 4)[0]
                               for goal in goals]))
        unreq.append(svg.Series(g.label, colors[key], [],
                                [d.side_effects.by_goal.get((*key, goal), (None,) * 4)[2]
                                 for goal in goals]))
    parts.append("<div class='figs'>")
    parts.append("<figure>" + svg.bars(goals, req, title="movement when requested",
                                       ylabel="mean |output − source|")
                 + "<figcaption>Mean absolute movement of each goal in answers that asked it to "
                   "move.</figcaption></figure>")
    parts.append("<figure>" + svg.bars(goals, unreq, title="movement when not requested",
                                       ylabel="mean |output − source|")
                 + "<figcaption>The same when the goal was not asked to move: every bit of it "
                   "is a side effect.</figcaption></figure>")
    parts.append("</div><h3>Unrequested movement by requested goal</h3>"
                 "<p class='note'>Row: a goal that was asked to move; column: a goal that was "
                 "not. Cell: mean |output − source| of the column goal in those answers. "
                 "One colour scale across all panels:</p>"
                 + svg.color_scale(d.side_effects.vmax, label="mean |output − source|")
                 + "<div class='figs'>")
    for g in d.header.groups:
        cells = d.side_effects.matrix.get((g.model, g.intervention), {})
        values = [[None if r == c else cells.get((r, c)) for c in goals] for r in goals]
        parts.append("<figure>" + svg.heatmap(values, rows=goals, cols=goals, title=g.label,
                                              vmax=d.side_effects.vmax,
                                              row_title="requested", col_title="not requested")
                     + "</figure>")
    parts.append("</div>")
    return (f"<section id='{anchor}-side-effects'><h2>Side effects by goal</h2>"
            + "".join(parts) + "</section>")


def flow_section(d: StoreData, anchor: str) -> str:
    colors = group_colors(d.header.groups)
    parts = []
    n_goals = len(d.header.goals)
    for g in d.header.groups:
        panels = d.flows.get((g.model, g.intervention), [])
        if not panels:
            continue
        figs = "".join(
            "<figure>" + svg.flow([svg.Arrow(*a) for a in p.arrows],
                                  [svg.Arrow(*a) for a in p.field],
                                  title=f"{p.x_goal} × {p.y_goal}", xlabel=p.x_goal,
                                  ylabel=p.y_goal, line=colors[(g.model, g.intervention)])
            + caption(p.n, len(p.arrows), "answers") + "</figure>" for p in panels)
        parts.append(f"<h3>{esc(g.label)}</h3><div class='figs'>{figs}</div>")
    more = (f" Only pairs among the first {min(n_goals, 4)} goals are drawn."
            if n_goals > 4 else "")
    return (f"<section id='{anchor}-flows'><h2>Flow diagrams</h2>"
            "<p class='lead'>For each pair of goals, answers whose request did not ask either "
            "goal to move: thin lines run from the source to the answer; bold arrows are the "
            "mean movement of the sources in each cell of a 6 × 6 grid (cells with at least 3 "
            "answers). A model without side effects leaves only dots." + more + "</p>"
            + "".join(parts) + "</section>")


def scatter_section(d: StoreData, anchor: str) -> str:
    colors = group_colors(d.header.groups)
    parts = []
    for g in d.header.groups:
        panels = d.scatters.get((g.model, g.intervention), [])
        if not panels:
            continue
        figs = "".join(
            "<figure>" + svg.scatter([x for x, _ in p.points], [y for _, y in p.points],
                                     title=p.goal, xlabel="requested delta",
                                     ylabel="realized movement", xlim=(-1, 1), ylim=(-1, 1),
                                     dot=colors[(g.model, g.intervention)])
            + caption(p.n, len(p.points), "requests") + "</figure>" for p in panels)
        parts.append(f"<h3>{esc(g.label)}</h3><div class='figs'>{figs}</div>")
    return (f"<section id='{anchor}-scatter'><h2>Requested vs realized movement</h2>"
            "<p class='lead'>Each point is a goal that was asked to move: its requested delta "
            "against the answer's movement (output − source). The dashed line is perfect "
            "steering; points between it and zero undershoot.</p>"
            + "".join(parts) + "</section>")


def best_of_n_section(d: StoreData, anchor: str) -> str:
    if not d.best_of_n:
        return ""
    colors = group_colors(d.header.groups)
    figs = []
    for metric in METRICS:
        series = []
        for (m, i), per in d.best_of_n.items():
            pts = per.get(metric, [])
            series.append(svg.Series(f"{m} / {i}", colors.get((m, i), "#444"),
                                     [k for k, _ in pts], [v for _, v in pts]))
        title = METRIC_TITLES[metric]
        figs.append("<figure>" + svg.line_chart(series, title=title, xlabel="N (samples)",
                                                ylabel=f"median {title}") + "</figure>")
    return (f"<section id='{anchor}-best-of-n'><h2>Best-of-N</h2>"
            "<p class='lead'>For sampling interventions: the median of each metric when the "
            "answer is picked (smallest raw steering error) among the first N samples only.</p>"
            f"<div class='figs'>{''.join(figs)}</div></section>")
