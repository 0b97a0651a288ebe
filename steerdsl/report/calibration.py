"""The calibration section: for each calibrated intervention, per goal, the requested delta
against the realized movement before calibration (grey: the uncalibrated prompt on the
calibration probe, with the fitted monotone curve) and after (in the intervention's colour:
its answers on the evaluated probe, asked for what the fit said would land on the target)."""

from __future__ import annotations

from steerdsl.report import svg
from steerdsl.report.data import StoreData
from steerdsl.report.markup import esc, group_colors

BEFORE, FIT = "#9a9a9a", "#222222"


def calibration_section(d: StoreData, anchor: str) -> str:
    if not d.calibration:
        return ""
    colors = group_colors(d.header.groups)
    parts = []
    for (model, intervention), panels in d.calibration.items():
        color = colors.get((model, intervention), svg.color(0))
        figs = "".join(
            "<figure>" + svg.scatter(
                [x for x, _ in p.before], [y for _, y in p.before], title=p.goal,
                xlabel="requested delta", ylabel="realized movement", xlim=(-1, 1),
                ylim=(-1, 1), dot=BEFORE,
                layers=(svg.Layer([x for x, _ in p.after], [y for _, y in p.after], color),
                        svg.Layer([x for x, _ in p.fit], [y for _, y in p.fit], FIT,
                                  line=True)))
            + f"<figcaption>{len(p.before):,} before, {len(p.after):,} after</figcaption>"
            "</figure>" for p in panels)
        parts.append(f"<h3>{esc(model)} / {esc(intervention)}</h3><div class='figs'>{figs}</div>")
    return (f"<section id='{anchor}-calibration'><h2>Calibrated requests</h2>"
            "<p class='lead'>Requested delta against realized movement (output − source), per "
            "goal: grey points before calibration (the prompt as drawn, on the calibration "
            "probe) with the fitted monotone curve in black; coloured points after (the "
            "calibrated requests on the evaluated probe, plotted at the delta the probe "
            "asked for, not the words sent). The dashed line is perfect steering.</p>"
            + "".join(parts) + "</section>")
