"""The console summary printed at the end of `steerdsl run`: the headline per model and
intervention, straight from the store's `summary` and `calls_summary` views."""

from __future__ import annotations

from steerdsl.store.query import QueryResult, to_table

# The binned metrics (the reference's default) and their column titles.
HEADLINE = (("steering_error", "steering error"), ("miscalibration", "miscalibration"),
            ("orthogonality", "orthogonality"))

# Answers (ok calls of the current generations) missing a value of some goal, so without
# metrics: a measurement of the answer failed, or its probe row has no source value.
_UNSCORED = """
SELECT model, intervention, count(DISTINCT (gen_hash, row_id, sample)) AS unscored
FROM answers WHERE output IS NULL OR source IS NULL
GROUP BY ALL
"""

_SQL = """
SELECT c.model, c.intervention, c.calls, c.errors,
       coalesce(max(u.unscored), 0) AS unscored, c.truncated, g.truncated_policy,
       max(s.n) FILTER (WHERE s.metric = 'steering_error') AS n,
       {cells}
FROM calls_summary c
JOIN current_generations g USING (gen_hash)
LEFT JOIN summary s ON s.model = c.model AND s.intervention = c.intervention
LEFT JOIN ({unscored}) u ON u.model = c.model AND u.intervention = c.intervention
GROUP BY ALL
ORDER BY c.model, c.intervention
"""


def summary_rows(con) -> list[dict]:
    """One dict per (model, intervention): calls, errors, unscored (answers without metrics),
    truncated (answers cut off), truncated_policy ('score' | 'drop'), n (scored, selected
    answers) and median / iqr of each headline metric (None when nothing is scored yet)."""
    cells = ", ".join(
        f"max(s.median) FILTER (WHERE s.metric = '{m}') AS {m}_median, "
        f"max(s.iqr) FILTER (WHERE s.metric = '{m}') AS {m}_iqr" for m, _ in HEADLINE)
    cursor = con.execute(_SQL.format(cells=cells, unscored=_UNSCORED))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def unscored_answers(con) -> int:
    """How many answers of the current generations have no metrics for want of a value."""
    return con.execute(f"SELECT coalesce(sum(unscored), 0) FROM ({_UNSCORED})").fetchone()[0]


def format_summary(con) -> str:
    """A plain table: model, intervention, n, errors, unscored, truncated answers, then median
    (IQR) of the binned steering error, miscalibration and orthogonality over the selected
    answers; then a note per model x intervention with truncated answers."""
    rows = summary_rows(con)
    if not rows:
        return "no results yet: no model x intervention in the store's current run"
    columns = ["model", "intervention", "n", "errors/calls", "unscored", "truncated"] + [
        f"{title} median (IQR)" for _, title in HEADLINE]
    body = []
    for r in rows:
        cells = [r["model"], r["intervention"], r["n"] or 0, f"{r['errors']}/{r['calls']}",
                 r["unscored"], r["truncated"]]
        for m, _ in HEADLINE:
            median, iqr = r[f"{m}_median"], r[f"{m}_iqr"]
            cells.append("-" if median is None else f"{median:.3f} ({iqr:.3f})")
        body.append(tuple(cells))
    table = to_table(QueryResult(columns, body), footer=False)
    return "\n".join([table] + [truncation_note(r) for r in rows if r["truncated"]]
                     + grounding_notes(con))


def grounding_notes(con) -> list[str]:
    """What the judge did per grounded model x intervention, whether judging is complete, and
    how many items await a person (`steerdsl review`); nothing when no generation is grounded."""
    from steerdsl.store.reviews import grounding_counts, review_items
    from steerdsl.words import count

    counts = grounding_counts(con)
    if not counts:
        return []
    notes = []
    for r in counts:
        where = f"{r['model']}/{r['intervention']}"
        notes.append(f"groundedness of {where} (judge {r['judge']}): {r['judged']} judged, "
                     f"{r['flagged']} flagged No, {r['unparsed']} unparsed, "
                     f"{r['overruled']} overruled, {r['dropped']} not grounded (left out of "
                     "summary; summary_all keeps them)")
        if r["not_judged"]:
            notes.append(f"note: judging is incomplete: {count(r['not_judged'], 'answer')} of "
                         f"{where} without a verdict yet, left out of the summary; run the "
                         "spec again to judge them")
    waiting = len(review_items(con))
    if waiting:
        notes.append(f"{count(waiting, 'item')} await review: `steerdsl review SPEC` (or "
                     "--export FILE.csv / --import FILE.csv without a terminal)")
    return notes


def truncation_note(r: dict) -> str:
    """What happened to the truncated answers of one model x intervention."""
    from steerdsl.words import count

    what = (f"{count(r['truncated'], 'answer')} of {r['model']}/{r['intervention']} cut off "
            "(finish_reason 'length')")
    if r["truncated_policy"] == "drop":
        return f"note: {what}: left out of the metrics (truncated drop)"
    return (f"note: {what}: scored, flagged in metrics.truncated; `truncated drop` in the "
            "model or intervention leaves them out")
