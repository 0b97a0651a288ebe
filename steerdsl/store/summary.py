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
       coalesce(max(u.unscored), 0) AS unscored,
       max(s.n) FILTER (WHERE s.metric = 'steering_error') AS n,
       {cells}
FROM calls_summary c
LEFT JOIN summary s USING (model, intervention)
LEFT JOIN ({unscored}) u USING (model, intervention)
GROUP BY ALL
ORDER BY c.model, c.intervention
"""


def summary_rows(con) -> list[dict]:
    """One dict per (model, intervention): calls, errors, unscored (answers without metrics),
    n (scored, selected answers) and median / iqr of each headline metric (None when nothing
    is scored yet)."""
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
    """A plain table: model, intervention, n, errors, unscored, then median (IQR) of the binned
    steering error, miscalibration and orthogonality over the selected answers."""
    rows = summary_rows(con)
    if not rows:
        return "no results yet: no model x intervention in the store's current run"
    columns = ["model", "intervention", "n", "errors/calls", "unscored"] + [
        f"{title} median (IQR)" for _, title in HEADLINE]
    body = []
    for r in rows:
        cells = [r["model"], r["intervention"], r["n"] or 0, f"{r['errors']}/{r['calls']}",
                 r["unscored"]]
        for m, _ in HEADLINE:
            median, iqr = r[f"{m}_median"], r[f"{m}_iqr"]
            cells.append("-" if median is None else f"{median:.3f} ({iqr:.3f})")
        body.append(tuple(cells))
    return to_table(QueryResult(columns, body), footer=False)
