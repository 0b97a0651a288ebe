"""The groundedness section: per model x intervention what the judge and the reviewers did,
and the rewrites the judge flagged, with its rationale."""

from __future__ import annotations

from steerdsl.report.data import Flagged, StoreData
from steerdsl.report.markup import esc, truncate
from steerdsl.words import count

_COLUMNS = [("judged", "judged"), ("flagged", "flagged (No)"), ("unparsed", "unparsed"),
            ("awaiting_review", "awaiting review"), ("overruled", "overruled"),
            ("dropped", "dropped"), ("not_judged", "not judged yet")]


def grounding_section(d: StoreData, anchor: str) -> str:
    if not d.grounding:
        return ""
    head = "".join(f"<th class='num'>{esc(title)}</th>" for _, title in _COLUMNS)
    body = "".join(
        f"<tr><td>{esc(m)}</td><td>{esc(i)}</td><td>{esc(c.judge)}</td>"
        + "".join(f"<td class='num'>{getattr(c, k):,}</td>" for k, _ in _COLUMNS) + "</tr>"
        for (m, i), c in d.grounding.items())
    waiting = sum(c.awaiting_review for c in d.grounding.values())
    note = (f"<p class='note'>{count(waiting, 'verdict')} "
            f"{'awaits' if waiting == 1 else 'await'} a person's review "
            "(<code>steerdsl review SPEC</code>); until then a “Yes” counts as grounded and a "
            "“No” or an unreadable verdict does not.</p>" if waiting else "")
    flagged = "".join(_flagged(f) for f in d.flagged)
    return (f"<section id='{anchor}-grounding'><h2>Groundedness</h2>"
            "<p class='lead'>A judge model answered, for each rewrite, whether it could still "
            "describe the same content as its source. The headline figures count only "
            "grounded rewrites: a “Yes” unless a person rejected it, a “No” or unreadable "
            "verdict only when a person approved it.</p>"
            "<table><tr><th>model</th><th>intervention</th><th>judge</th>" + head + "</tr>"
            + body + "</table>" + note
            + ("<h3>Flagged rewrites</h3>" + flagged if flagged else "") + "</section>")


def _flagged(f: Flagged) -> str:
    verdict = {"no": "No", None: "unreadable"}.get(f.verdict, f.verdict)
    decided = {"approve": " · approved by a reviewer", "reject": " · rejected by a reviewer"}
    rationale = (f"<p><b>Rationale:</b> {esc(f.rationale)}</p>" if f.rationale else "")
    return (f"<div class='example'><p><b>{esc(f.group.label)}</b> · probe row {f.row_id}, "
            f"sample {f.sample} · verdict {esc(verdict)}{decided.get(f.decision or '', '')}"
            f"</p>{rationale}<p><b>Source</b></p><div class='text'>{esc(truncate(f.source or ''))}"
            f"</div><p><b>Rewrite</b></p><div class='text'>{esc(truncate(f.answer or ''))}"
            "</div></div>")
