"""The report page: StoreData in, one self-contained HTML document out (inline CSS and SVG,
no scripts, fonts or images from anywhere)."""

from __future__ import annotations

from datetime import datetime, timezone

from steerdsl.report.calibration import calibration_section
from steerdsl.report.data import StoreData, Variant
from steerdsl.report.figures import (best_of_n_section, distribution_section, flow_section,
                                     scatter_section, side_effects_section)
from steerdsl.report.feedback import feedback_section
from steerdsl.report.grounding import grounding_section
from steerdsl.report.markup import esc
from steerdsl.report.rewrites import examples_section
from steerdsl.report.tables import comparison_section, header_section, headline_section
from steerdsl.report.training import training_section

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


def store_sections(d: StoreData, anchor: str, variant: Variant) -> str:
    return "".join([
        header_section(d, anchor), headline_section(d, anchor, variant),
        grounding_section(d, anchor),
        distribution_section(d, anchor), side_effects_section(d, anchor),
        flow_section(d, anchor), scatter_section(d, anchor), best_of_n_section(d, anchor),
        calibration_section(d, anchor), feedback_section(d, anchor, variant),
        training_section(d, anchor), examples_section(d, anchor)])


def page(stores: list[StoreData], names: list[str], variant: Variant, version: str) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if len(stores) == 1:
        d = stores[0]
        title = f"Steerability report: {d.header.experiment or names[0]}"
        body = f"<h1>{esc(title)}</h1>" + store_sections(d, "s0", variant)
        toc = _toc(d, "s0")
    else:
        title = "Steerability comparison: " + " vs ".join(names)
        body = (f"<h1>{esc(title)}</h1>" + comparison_section(stores[0], stores[1],
                                                             (names[0], names[1])))
        toc = "<a href='#comparison'>Comparison</a><br>"
        for k, (d, name) in enumerate(zip(stores, names)):
            tagged = f"{'AB'[k]}: {name}"
            body += f"<h1 id='s{k}' style='margin-top:40px'>{esc(tagged)}</h1>"
            body += store_sections(d, f"s{k}", variant)
            toc += f"<a href='#s{k}'>{esc(tagged)}</a><br>"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<nav class='toc'>{toc}</nav>{body}"
            f"<footer>steerdsl {esc(version)} · report written {now} · method: Chang et al. "
            "2025, arXiv 2505.23816</footer></body></html>")


def _toc(d: StoreData, anchor: str) -> str:
    names = [("headline", "Headline")]
    if d.grounding:
        names.append(("grounding", "Groundedness"))
    names += [("distributions", "Distributions"),
             ("side-effects", "Side effects by goal"), ("flows", "Flow diagrams"),
             ("scatter", "Requested vs realized")]
    if d.best_of_n:
        names.append(("best-of-n", "Best-of-N"))
    if d.calibration:
        names.append(("calibration", "Calibrated requests"))
    if d.feedback:
        names.append(("feedback", "Closed-loop feedback"))
    if d.training:
        names.append(("training", "Training"))
    if d.examples:
        names.append(("examples", "Example rewrites"))
    return "".join(f"<a href='#{anchor}-{k}'>{v}</a><br>" for k, v in names)
