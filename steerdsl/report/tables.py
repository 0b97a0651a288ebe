"""The report's tables: the store's header, the headline metrics, and the comparison of two
stores."""

from __future__ import annotations

from steerdsl.report import svg
from steerdsl.report.data import METRIC_TITLES, METRICS, StoreData, Variant
from steerdsl.report.markup import esc, group_colors, metric_text, swatch, time_text, variant_note


def header_section(d: StoreData, anchor: str) -> str:
    h = d.header
    samples = ", ".join(f"{esc(i)} ({n} samples)" if n > 1 else esc(i)
                        for i, n in h.samples.items())
    models = sorted({g.model for g in h.groups})
    cost = f"${h.total.cost:,.4f}" if h.total.cost is not None else "unknown"
    items = [
        ("store", f"<code>{esc(h.store)}</code>"),
        ("spec", f"<code>{esc(h.spec_path)}</code>" if h.spec_path else "–"),
        ("spec hash", f"<code>{esc(h.spec_hash)}</code>" if h.spec_hash else "–"),
        ("run", f"{esc(h.run_status)}, started {time_text(h.started_at)}, finished "
                f"{time_text(h.finished_at)}"
         if h.run_status else "no run recorded (imported results?)"),
        ("models", ", ".join(esc(m) + (f" (<code>{esc(h.model_ids[m])}</code>)"
                                      if h.model_ids.get(m) else "") for m in models) or "–"),
        ("interventions", samples or "–"),
        ("probe", f"{esc(h.probe)}: {esc(h.probe_rows)} rows"
                  + (f", density-ratio AUC {svg.fmt(h.probe_auc)}" if h.probe_auc is not None
                     else "")),
        ("calls", f"{h.total.ok:,} ok ({h.total.truncated:,} truncated), "
                  f"{h.total.failed:,} failed"),
        ("tokens", f"{h.total.prompt_tokens:,} prompt + {h.total.completion_tokens:,} "
                   f"completion"),
        ("cost", cost),
    ]
    j = h.judging
    if j is not None:
        items.append(("judging", f"{j.ok:,} judge requests, {j.prompt_tokens:,} prompt + "
                                 f"{j.completion_tokens:,} completion tokens, "
                                 + (f"${j.cost:,.4f}" if j.cost is not None else
                                    "cost unknown")))
    meta = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    goal_rows = "".join(
        f"<tr><td>{esc(g.name)}</td><td>{esc(g.measure) if g.measure else '–'}</td>"
        f"<td>{esc(g.normalize) if g.normalize else '–'}</td>"
        f"<td class='num'>{svg.fmt(g.lo, 4)}</td><td class='num'>{svg.fmt(g.hi, 4)}</td></tr>"
        for g in h.goals)
    goals = ("<h3>Goal space</h3><table><tr><th>goal</th><th>measure</th><th>normalization</th>"
             "<th class='num'>lo</th><th class='num'>hi</th></tr>" + goal_rows + "</table>")
    if all(g.lo is None and not g.measure for g in h.goals):
        goals = ("<h3>Goal space</h3><p class='note'>Not recorded in the store (imported "
                 "results?); the answers' goals: "
                 + ", ".join(esc(g.name) for g in h.goals) + ".</p>")
    call_rows = "".join(
        f"<tr><td>{esc(m)}</td><td>{esc(i)}</td><td class='num'>{c.ok:,}</td>"
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
    versions = ", ".join(f"{esc(k)} {esc(v)}" for k, v in sorted(h.versions.items()))
    vers = f"<p class='note'>Library versions of the run: {versions}.</p>" if versions else ""
    return (f"<section id='{anchor}-header'><dl class='meta'>{meta}</dl>{goals}{calls}{vers}"
            "</section>")


def headline_section(d: StoreData, anchor: str, variant: Variant) -> str:
    groups = d.header.groups
    colors = group_colors(groups)
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
            cells.append(f"<td class='num{mark}'>{metric_text(cell[1])} "
                         f"({metric_text(cell[4])})</td>")
        body.append(f"<tr><td>{swatch(colors[key])}{esc(g.model)}</td><td>{esc(g.intervention)}"
                    f"</td><td class='num'>{esc(n)}</td>{''.join(cells)}</tr>")
    return (f"<section id='{anchor}-headline'><h2>Headline</h2>"
            "<p class='lead'>Median (IQR) over scored answers (for best-of-N, the selected "
            "answer). Lower is better for all three; the best median per metric is "
            f"highlighted. {variant_note(variant)}</p>"
            f"<table class='headline'>{head}{''.join(body)}</table></section>")


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
            cells.append(f"<td class='num'>{metric_text(va)}"
                         f"{f' ({metric_text(ca[4])})' if ca else ''}</td>")
            cells.append(f"<td class='num'>{metric_text(vb)}"
                         f"{f' ({metric_text(cb[4])})' if cb else ''}</td>")
            if va is None or vb is None:
                cells.append("<td class='num'>–</td>")
            else:
                diff = vb - va
                cls = "better" if diff < 0 else "worse" if diff > 0 else ""
                cells.append(f"<td class='num {cls}'>{'+' if diff > 0 else ''}"
                             f"{metric_text(diff)}</td>")
        body.append(f"<tr><td>{esc(m)}</td><td>{esc(i)}</td>{''.join(cells)}</tr>")
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
            f"<p class='lead'>A = {esc(names[0])}; B = {esc(names[1])}. Median (IQR) over "
            "selected answers; B − A is the difference of the medians (negative is better: "
            "lower is better for all three metrics).</p>"
            f"<table class='comparison'>{head}{''.join(body)}</table>"
            f"<div class='figs'>{''.join(figs)}</div></section>")
