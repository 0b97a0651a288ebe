"""Closed-loop feedback by round: the metrics of the answers in force after each round (view
feedback_summary) and how many answers each round revised (table feedback_rounds)."""

from __future__ import annotations

from steerdsl.report.data import METRICS, FeedbackRounds, Variant
from steerdsl.report.load.views import metric_column, rows


def load_feedback(con, variant: Variant) -> list[FeedbackRounds]:
    columns = {metric_column(m, variant): m for m in METRICS}
    out: dict[tuple[str, str], FeedbackRounds] = {}
    for model, intervention, r, metric, n, median, q1, q3 in rows(con, """
            SELECT model, intervention, round, metric, n, median, q1, q3 FROM feedback_summary
            ORDER BY model, intervention, round"""):
        if metric not in columns:
            continue
        f = out.setdefault((model, intervention), FeedbackRounds(model, intervention, {}, {}))
        f.stats.setdefault(int(r), {})[columns[metric]] = (int(n), median, q1, q3)
    for model, intervention, r, n in rows(con, """
            SELECT cg.model, cg.intervention, f.round, count(*) FROM feedback_rounds f
            JOIN current_generations cg USING (gen_hash)
            WHERE f.status = 'ok' GROUP BY ALL"""):
        if (model, intervention) in out:
            out[(model, intervention)].revised[int(r)] = int(n)
    return list(out.values())
