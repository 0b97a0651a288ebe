"""The metrics per model x intervention: headline medians, distributions, best-of-N curves."""

from __future__ import annotations

from steerdsl.report.data import METRICS, Distribution, Headline, Variant
from steerdsl.report.load.views import METRICS_TABLE, metric_column, rows

HIST_BINS = 24


def load_headline(con, variant: Variant) -> Headline:
    names = [metric_column(m, variant) for m in METRICS]
    cells = {}
    for m, i, metric, n, med, q1, q3, iqr in rows(
            con, "SELECT model, intervention, metric, n, median, q1, q3, iqr FROM summary "
                 "WHERE metric IN (SELECT unnest(?))", [names]):
        base = metric if variant == "binned" else metric.removesuffix("_raw")
        cells[(m, i, base)] = (int(n), med, q1, q3, iqr)
    return Headline(cells)


def load_distributions(con, variant: Variant) -> list[Distribution]:
    cols = ", ".join(metric_column(m, variant) for m in METRICS)
    long = (f"(UNPIVOT (SELECT model, intervention, {cols} FROM {METRICS_TABLE} WHERE selected) "
            f"ON {cols} INTO NAME metric VALUE value)")
    stats = rows(con, f"""
        WITH v AS (SELECT * FROM {long} WHERE isfinite(value)),
        s AS (SELECT model, intervention, metric, n, q1, median AS med, q3 FROM summary
              WHERE metric IN ({", ".join(f"'{metric_column(m, variant)}'" for m in METRICS)}))
        SELECT s.model, s.intervention, s.metric, s.n, s.q1, s.med, s.q3,
               min(v.value) FILTER (WHERE v.value >= s.q1 - 1.5 * (s.q3 - s.q1)),
               max(v.value) FILTER (WHERE v.value <= s.q3 + 1.5 * (s.q3 - s.q1))
        FROM s JOIN v USING (model, intervention, metric)
        GROUP BY ALL ORDER BY ALL""")
    out = []
    for metric in METRICS:
        col = metric_column(metric, variant)
        mine = [r for r in stats if r[2] == col]
        if not mine:
            continue
        hi = max(max(r[8] for r in mine), max(r[6] for r in mine))
        hi = hi * 1.05 if hi > 0 else 1.0
        if metric == "orthogonality":
            hi = min(hi, 1.0)
        width = hi / HIST_BINS
        hist: dict[tuple[str, str], list[int]] = {}
        for m, i, b, k in rows(con, f"""
                SELECT model, intervention, least(floor(value / ?)::INTEGER, ?) AS b, count(*)
                FROM {long} WHERE metric = ? AND value >= 0 AND value <= ?
                GROUP BY ALL""", [width, HIST_BINS - 1, col, hi]):
            hist.setdefault((m, i), [0] * HIST_BINS)[int(b)] = int(k)
        edges = [width * j for j in range(HIST_BINS + 1)]
        boxes = {(m, i): (int(n), q1, med, q3, wlo, whi, edges, hist.get((m, i), []))
                 for m, i, _, n, q1, med, q3, wlo, whi in mine}
        out.append(Distribution(metric, (0.0, hi), boxes))
    return out


def load_best_of_n(con, variant: Variant) -> dict[tuple[str, str], dict[str, list]]:
    """Median of each metric of the pick among the first k samples, k = 1..N.

    The pick is the sample with the smallest raw steering error (ties: the lower sample), the
    rule of the metrics view's `selected`, restricted to samples < k. Interventions that
    `select first` get no curve.
    """
    cols = [metric_column(m, variant) for m in METRICS]
    # Interventions that `select first` keep sample 0 whatever the others score: no curve.
    sampled = f"""SELECT model, intervention, max(sample) + 1 AS n FROM {METRICS_TABLE}
        WHERE gen_hash NOT IN (SELECT gen_hash FROM current_generations
            WHERE json_extract_string(settings, '$.intervention.select') = 'first')
        GROUP BY ALL HAVING max(sample) > 0"""
    multi = rows(con, sampled + " ORDER BY ALL")
    out: dict[tuple[str, str], dict[str, list]] = {}
    if not multi:
        return out
    n_max = max(int(r[2]) for r in multi)
    picked = ", ".join(f"arg_min({c}, (steering_error_raw, sample)) AS {c}" for c in cols)
    medians = ", ".join(f"median({c})" for c in cols)
    for m, i, k, *vals in rows(con, f"""
            WITH m AS (SELECT * FROM {METRICS_TABLE} WHERE (model, intervention) IN
                          (SELECT (model, intervention) FROM ({sampled}))),
            p AS (SELECT m.model, m.intervention, k.k, {picked}
                  FROM m JOIN range(1, ?) k(k) ON m.sample < k.k
                  GROUP BY m.model, m.intervention, m.gen_hash, m.row_id, k.k)
            SELECT model, intervention, k, {medians} FROM p GROUP BY ALL ORDER BY ALL""",
                               [n_max + 1]):
        per = out.setdefault((m, i), {metric: [] for metric in METRICS})
        for metric, v in zip(METRICS, vals):
            per[metric].append((int(k), v))
    return out
