"""Groundedness: what the judge and the reviewers did per model x intervention, and the
rewrites the judge flagged (views grounding_summary and grounding)."""

from __future__ import annotations

from steerdsl.report.data import Flagged, Group, GroundingCounts
from steerdsl.report.load.views import rows


def load_grounding(con) -> dict[tuple[str, str], GroundingCounts]:
    return {(m, i): GroundingCounts(judge, *counts) for m, i, judge, *counts in rows(con, """
        SELECT model, intervention, judge, judged, flagged, unparsed, awaiting_review,
               overruled, dropped, not_judged
        FROM grounding_summary ORDER BY model, intervention""")}


def load_flagged(con, groups: list[Group], limit: int = 12) -> list[Flagged]:
    """Rewrites judged "No" or unreadable, the undecided first, a few per group."""
    by_key = {(g.model, g.intervention): g for g in groups}
    out = []
    for model, intervention, row_id, sample, verdict, rationale, decision, source, answer \
            in rows(con, """
        SELECT g.model, g.intervention, g.row_id, g.sample, g.verdict, g.rationale, g.decision,
               st.text, c.answer
        FROM grounding g
        JOIN calls c USING (gen_hash, row_id, sample)
        LEFT JOIN texts st ON st.text_hash = g.source_hash
        WHERE g.verdict IS DISTINCT FROM 'yes'
        ORDER BY g.decision IS NOT NULL, g.model, g.intervention, md5(g.answer_hash), g.row_id,
                 g.sample
        LIMIT ?""", [limit]):
        group = by_key.get((model, intervention)) or Group(model=model, intervention=intervention)
        out.append(Flagged(group=group, row_id=int(row_id), sample=int(sample), verdict=verdict,
                           rationale=rationale, decision=decision, source=source,
                           answer=answer))
    return out
