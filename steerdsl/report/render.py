"""The report page: StoreData in, one self-contained HTML document out (inline CSS and SVG,
no scripts, fonts or images from anywhere)."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape

from steerdsl.report import svg
from steerdsl.report.data import (METRIC_TITLES, METRICS, Example, Group, StoreData, Variant)

MAX_TEXT_CHARS = 1500

CSS = """
:root { --ink: #1b1b1b; --muted: #5c5c5c; --rule: #d8d8d8; --best: #e3f1e6; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--ink); margin: 0 auto; max-width: 1180px; padding: 24px 28px;
       line-height: 1.45; font-size: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 6px; padding-top: 8px; border-top: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.lead, p.note { color: var(--muted); margin: 4px 0 10px; max-width: 880px; }
table { border-collapse: collapse; margin: 6px 0 14px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 10px 3px 0; text-align: left;
         vertical-align: top; }
th { font-weight: 600; border-bottom: 1.5px solid var(--ink); }
td.num, th.num { text-align: right; padding-left: 10px; }
td.best { background: var(--best); font-weight: 600; }
td.worse { color: #a4161a; } td.better { color: #1a7f37; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 10px 0; }
dl.meta dt { color: var(--muted); } dl.meta dd { margin: 0; }
code { font-size: 12px; background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
.figs { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: flex-start; }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; display: table; }
/* a caption no wider than its figure */
figcaption { font-size: 12px; color: var(--muted); display: table-caption;
             caption-side: bottom; }
svg.chart { max-width: 100%; height: auto; font-family: inherit; }
.example { border: 1px solid var(--rule); border-radius: 6px; padding: 10px 14px;
           margin: 10px 0; break-inside: avoid; page-break-inside: avoid; }
.text { white-space: pre-wrap; background: #fafafa; border-left: 3px solid var(--rule);
                 padding: 6px 10px; margin: 4px 0 8px; font-size: 13px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px;
          vertical-align: baseline; }
nav.toc { columns: 2; font-size: 13px; margin: 10px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule);
         padding-top: 6px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  @page { size: A4; margin: 14mm 12mm; }
  h2 { break-before: auto; break-after: avoid; page-break-after: avoid; }
  h3 { break-after: avoid; page-break-after: avoid; }
  nav.toc { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def _metric(x: float | None) -> str:
    """Metrics in tables: fixed decimals, so 1e-17 of rounding noise reads as 0.000."""
    return "–" if x is None else f"{x:.3f}"


def _time(t) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if hasattr(t, "strftime") else _e(t)


def _e(x) -> str:
    return escape(str(x)) if x is not None else "–"


def _colors(groups: list[Group]) -> dict[tuple[str, str], str]:
    return {(g.model, g.intervention): svg.color(k) for k, g in enumerate(groups)}


def _swatch(c: str) -> str:
    return f'<span class="swatch" style="background:{c}"></span>'


def _truncate(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS].rstrip() + f" … [{len(text) - MAX_TEXT_CHARS} more characters]"


def _variant_note(variant: Variant) -> str:
    if variant == "binned":
        return ("Metrics are the binned variants (METHOD.md section 4, the reference tool's "
                "default): values move in steps of 1/7 of a goal's bin.")
    return "Metrics are the raw variants (unbinned goal-space vectors)."


# --- sections --------------------------------------------------------------------------------


def header_section(d: StoreData, anchor: str) -> str:
    h = d.header
    samples = ", ".join(f"{_e(i)} ({n} samples)" if n > 1 else _e(i)
                        for i, n in h.samples.items())
    models = sorted({g.model for g in h.groups})
    cost = f"${h.total.cost:,.4f}" if h.total.cost is not None else "unknown"
    items = [
        ("store", f"<code>{_e(h.store)}</code>"),
        ("spec", f"<code>{_e(h.spec_path)}</code>" if h.spec_path else "–"),
        ("spec hash", f"<code>{_e(h.spec_hash)}</code>" if h.spec_hash else "–"),
        ("run", f"{_e(h.run_status)}, started {_time(h.started_at)}, finished "
                f"{_time(h.finished_at)}"
         if h.run_status else "no run recorded (imported results?)"),
        ("models", ", ".join(_e(m) + (f" (<code>{_e(h.model_ids[m])}</code>)"
                                      if h.model_ids.get(m) else "") for m in models) or "–"),
        ("interventions", samples or "–"),
        ("probe", f"{_e(h.probe)}: {_e(h.probe_rows)} rows"
                  + (f", density-ratio AUC {svg.fmt(h.probe_auc)}" if h.probe_auc is not None
                     else "")),
        ("calls", f"{h.total.ok:,} ok ({h.total.truncated:,} truncated), "
                  f"{h.total.failed:,} failed"),
        ("tokens", f"{h.total.prompt_tokens:,} prompt + {h.total.completion_tokens:,} "
                   f"completion"),
        ("cost", cost),
    ]
    meta = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    goal_rows = "".join(
        f"<tr><td>{_e(g.name)}</td><td>{_e(g.measure) if g.measure else '–'}</td>"
        f"<td>{_e(g.normalize) if g.normalize else '–'}</td>"
        f"<td class='num'>{svg.fmt(g.lo, 4)}</td><td class='num'>{svg.fmt(g.hi, 4)}</td></tr>"
        for g in h.goals)
    goals = ("<h3>Goal space</h3><table><tr><th>goal</th><th>measure</th><th>normalization</th>"
             "<th class='num'>lo</th><th class='num'>hi</th></tr>" + goal_rows + "</table>")
    if all(g.lo is None and not g.measure for g in h.goals):
        goals = ("<h3>Goal space</h3><p class='note'>Not recorded in the store (imported "
                 "results?); the answers' goals: "
                 + ", ".join(_e(g.name) for g in h.goals) + ".</p>")
    call_rows = "".join(
        f"<tr><td>{_e(m)}</td><td>{_e(i)}</td><td class='num'>{c.ok:,}</td>"
        f"<td class='num'>{c.failed:,}</td>"
        f"<td class='num'>{c.truncated:,}{' (dropped)' if c.dropped and c.truncated else ''}</td>"
        f"<td class='num'>{c.prompt_tokens:,}</td>"
        f"<td class='num'>{c.completion_tokens:,}</td>"
        f"<td class='num'>{'–' if c.cost is None else f'${c.cost:,.4f}'}</td></tr>"
        for (m, i), c in h.calls.items())
    calls = ("<h3>Calls</h3><table><tr><th>model</th><th>intervention</th><th class='num'>ok</th>"
             "<th class='num'>failed</th><th class='num'>truncated</th>"
             "<th class='num'>prompt tokens</th>"
             "<th class='num'>completion tokens</th><th class='num'>cost</th></tr>"
             + call_rows + "</table>") if call_rows else ""
    versions = ", ".join(f"{_e(k)} {_e(v)}" for k, v in sorted(h.versions.items()))
    vers = f"<p class='note'>Library versions of the run: {versions}.</p>" if versions else ""
    return (f"<section id='{anchor}-header'><dl class='meta'>{meta}</dl>{goals}{calls}{vers}"
            "</section>")


def headline_section(d: StoreData, anchor: str, variant: Variant) -> str:
    groups = d.header.groups
    colors = _colors(groups)
    best = {}
    for metric in METRICS:
        medians = [d.headline.cells[(g.model, g.intervention, metric)][1] for g in groups
                   if (g.model, g.intervention, metric) in d.headline.cells
                   and d.headline.cells[(g.model, g.intervention, metric)][1] is not None]
        best[metric] = min(medians) if medians else None
    head = ("<tr><th>model</th><th>intervention</th><th class='num'>n</th>"
            + "".join(f"<th class='num'>{METRIC_TITLES[m]}</th>" for m in METRICS) + "</tr>")
    body = []
    for g in groups:
        key = (g.model, g.intervention)
        cells = []
        n = None
        for metric in METRICS:
            cell = d.headline.cells.get((*key, metric))
            if cell is None or cell[1] is None:
                cells.append("<td class='num'>–</td>")
                continue
            n = cell[0]
            mark = " best" if best[metric] is not None and cell[1] == best[metric] else ""
            cells.append(f"<td class='num{mark}'>{_metric(cell[1])} "
                         f"({_metric(cell[4])})</td>")
        body.append(f"<tr><td>{_swatch(colors[key])}{_e(g.model)}</td><td>{_e(g.intervention)}"
                    f"</td><td class='num'>{_e(n)}</td>{''.join(cells)}</tr>")
    return (f"<section id='{anchor}-headline'><h2>Headline</h2>"
            "<p class='lead'>Median (IQR) over scored answers (for best-of-N, the selected "
            "answer). Lower is better for all three; the best median per metric is "
            f"highlighted. {_variant_note(variant)}</p>"
            f"<table class='headline'>{head}{''.join(body)}</table></section>")


def distribution_section(d: StoreData, anchor: str) -> str:
    colors = _colors(d.header.groups)
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
    colors = _colors(d.header.groups)
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


def _caption(n: int, shown: int, what: str) -> str:
    sample = f" ({shown:,} shown)" if shown < n else ""
    return f"<figcaption>{n:,} {what}{sample}</figcaption>"


def flow_section(d: StoreData, anchor: str) -> str:
    colors = _colors(d.header.groups)
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
            + _caption(p.n, len(p.arrows), "answers") + "</figure>" for p in panels)
        parts.append(f"<h3>{_e(g.label)}</h3><div class='figs'>{figs}</div>")
    more = (f" Only pairs among the first {min(n_goals, 4)} goals are drawn."
            if n_goals > 4 else "")
    return (f"<section id='{anchor}-flows'><h2>Flow diagrams</h2>"
            "<p class='lead'>For each pair of goals, answers whose request did not ask either "
            "goal to move: thin lines run from the source to the answer; bold arrows are the "
            "mean movement of the sources in each cell of a 6 × 6 grid (cells with at least 3 "
            "answers). A model without side effects leaves only dots." + more + "</p>"
            + "".join(parts) + "</section>")


def scatter_section(d: StoreData, anchor: str) -> str:
    colors = _colors(d.header.groups)
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
            + _caption(p.n, len(p.points), "requests") + "</figure>" for p in panels)
        parts.append(f"<h3>{_e(g.label)}</h3><div class='figs'>{figs}</div>")
    return (f"<section id='{anchor}-scatter'><h2>Requested vs realized movement</h2>"
            "<p class='lead'>Each point is a goal that was asked to move: its requested delta "
            "against the answer's movement (output − source). The dashed line is perfect "
            "steering; points between it and zero undershoot.</p>"
            + "".join(parts) + "</section>")


def best_of_n_section(d: StoreData, anchor: str) -> str:
    if not d.best_of_n:
        return ""
    colors = _colors(d.header.groups)
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


def examples_section(d: StoreData, anchor: str) -> str:
    if not d.examples:
        return ""
    parts = []
    last_row = None
    for ex in d.examples:
        if ex.row_id != last_row:
            parts.append(f"<h3>Probe row {ex.row_id}</h3><div class='text'>"
                         f"{_e(_truncate(ex.source))}</div>"
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
        rows.append(f"<tr><td>{_e(goal)}</td><td class='num'>{_metric(source)}</td>"
                    f"<td class='num'>{asked}</td><td class='num'>{_metric(target)}</td>"
                    f"<td class='num'>{_metric(output)}</td>"
                    f"<td class='num'>{'–' if move is None else f'{move:+.3f}'}</td></tr>")
    metrics = ", ".join(f"{METRIC_TITLES[k]} {_metric(v)}" for k, v in ex.metrics.items())
    request = (f"<p><b>Request:</b> {_e(ex.request)}</p>" if ex.request else "")
    return (f"<div class='example'><p><b>{_e(ex.group.label)}</b> · {metrics}</p>{request}"
            f"<div class='text'>{_e(_truncate(ex.answer))}</div>"
            "<table><tr><th>goal</th><th class='num'>source</th><th class='num'>delta</th>"
            "<th class='num'>target</th><th class='num'>output</th><th class='num'>movement"
            "</th></tr>" + "".join(rows) + "</table></div>")


def store_sections(d: StoreData, anchor: str, variant: Variant) -> str:
    return "".join([
        header_section(d, anchor), headline_section(d, anchor, variant),
        distribution_section(d, anchor), side_effects_section(d, anchor),
        flow_section(d, anchor), scatter_section(d, anchor), best_of_n_section(d, anchor),
        examples_section(d, anchor)])


# --- comparison ------------------------------------------------------------------------------


def comparison_section(a: StoreData, b: StoreData, names: tuple[str, str]) -> str:
    keys = []
    for g in a.header.groups + b.header.groups:
        if (g.model, g.intervention) not in keys:
            keys.append((g.model, g.intervention))
    head = ("<tr><th rowspan='2'>model</th><th rowspan='2'>intervention</th>"
            + "".join(f"<th class='num' colspan='3'>{METRIC_TITLES[m]}</th>" for m in METRICS)
            + "</tr><tr>" + "<th class='num'>A</th><th class='num'>B</th>"
                            "<th class='num'>B − A</th>" * len(METRICS) + "</tr>")
    body = []
    for m, i in keys:
        cells = []
        for metric in METRICS:
            ca = a.headline.cells.get((m, i, metric))
            cb = b.headline.cells.get((m, i, metric))
            va = ca[1] if ca else None
            vb = cb[1] if cb else None
            cells.append(f"<td class='num'>{_metric(va)}"
                         f"{f' ({_metric(ca[4])})' if ca else ''}</td>")
            cells.append(f"<td class='num'>{_metric(vb)}"
                         f"{f' ({_metric(cb[4])})' if cb else ''}</td>")
            if va is None or vb is None:
                cells.append("<td class='num'>–</td>")
            else:
                diff = vb - va
                cls = "better" if diff < 0 else "worse" if diff > 0 else ""
                cells.append(f"<td class='num {cls}'>{'+' if diff > 0 else ''}"
                             f"{_metric(diff)}</td>")
        body.append(f"<tr><td>{_e(m)}</td><td>{_e(i)}</td>{''.join(cells)}</tr>")
    figs = []
    labels = [f"{m} / {i}" for m, i in keys]
    for metric in METRICS:
        series = [svg.Series(tag, svg.color(k), [], [
            (d.headline.cells.get((m, i, metric)) or (None, None))[1] for m, i in keys])
            for k, (tag, d) in enumerate((("A", a), ("B", b)))]
        title = METRIC_TITLES[metric]
        figs.append("<figure>" + svg.bars(labels, series, title=title,
                                          ylabel=f"median {title}") + "</figure>")
    return ("<section id='comparison'><h2>Comparison</h2>"
            f"<p class='lead'>A = {_e(names[0])}; B = {_e(names[1])}. Median (IQR) over "
            "selected answers; B − A is the difference of the medians (negative is better: "
            "lower is better for all three metrics).</p>"
            f"<table class='comparison'>{head}{''.join(body)}</table>"
            f"<div class='figs'>{''.join(figs)}</div></section>")


# --- page ------------------------------------------------------------------------------------


def page(stores: list[StoreData], names: list[str], variant: Variant, version: str) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if len(stores) == 1:
        d = stores[0]
        title = f"Steerability report: {d.header.experiment or names[0]}"
        body = f"<h1>{_e(title)}</h1>" + store_sections(d, "s0", variant)
        toc = _toc(d, "s0")
    else:
        title = "Steerability comparison: " + " vs ".join(names)
        body = (f"<h1>{_e(title)}</h1>" + comparison_section(stores[0], stores[1],
                                                             (names[0], names[1])))
        toc = "<a href='#comparison'>Comparison</a><br>"
        for k, (d, name) in enumerate(zip(stores, names)):
            tagged = f"{'AB'[k]}: {name}"
            body += f"<h1 id='s{k}' style='margin-top:40px'>{_e(tagged)}</h1>"
            body += store_sections(d, f"s{k}", variant)
            toc += f"<a href='#s{k}'>{_e(tagged)}</a><br>"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            f"<nav class='toc'>{toc}</nav>{body}"
            f"<footer>steerdsl {_e(version)} · report written {now} · method: Chang et al. "
            "2025, arXiv 2505.23816</footer></body></html>")


def _toc(d: StoreData, anchor: str) -> str:
    names = [("headline", "Headline"), ("distributions", "Distributions"),
             ("side-effects", "Side effects by goal"), ("flows", "Flow diagrams"),
             ("scatter", "Requested vs realized")]
    if d.best_of_n:
        names.append(("best-of-n", "Best-of-N"))
    if d.examples:
        names.append(("examples", "Example rewrites"))
    return "".join(f"<a href='#{anchor}-{k}'>{v}</a><br>" for k, v in names)
