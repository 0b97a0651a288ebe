"""What the report shows, read from a store through its public views and tables.

Everything is aggregated (or subsampled, deterministically) in SQL so a store of any size gives a
small report. Only selected answers count (the best-of-N pick; the single answer otherwise),
except in the best-of-N curves, which recompute the pick over the first k samples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Variant = Literal["binned", "raw"]

METRICS = ("steering_error", "miscalibration", "orthogonality")
METRIC_TITLES = {"steering_error": "steering error", "miscalibration": "miscalibration",
                 "orthogonality": "orthogonality"}
# How many points / arrows a scatter or flow panel shows at most (seeded by content hash).
MAX_POINTS = 300
MAX_ARROWS = 160
FLOW_GRID = 6
MAX_FLOW_GOALS = 4
HIST_BINS = 24

# Evaluating the metrics view is the expensive part of a report (seconds on 100k answers), so
# it is evaluated once into a temporary table (allowed on a read-only connection), with the
# answers that count: the selected ones.
_METRICS = "report_metrics"
_SELECTED = "report_selected"


def materialize(con) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_METRICS} AS SELECT * FROM metrics")
    # The summary view reads `metrics` by name, and temp objects are looked up first: point it
    # at the evaluated rows instead of evaluating the whole view a second time.
    con.execute(f"CREATE OR REPLACE TEMP VIEW metrics AS SELECT * FROM {_METRICS}")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_SELECTED} AS
        SELECT a.* FROM answers a JOIN {_METRICS} m USING (gen_hash, row_id, sample)
        WHERE m.selected""")


def metric_column(metric: str, variant: Variant) -> str:
    return metric if variant == "binned" else f"{metric}_raw"


@dataclass
class Group:
    """One model x intervention."""

    model: str
    intervention: str

    @property
    def label(self) -> str:
        return f"{self.model} / {self.intervention}"


@dataclass
class GoalInfo:
    name: str
    lo: float | None
    hi: float | None
    measure: str  # the plan's measure, in words
    normalize: str  # the plan's normalization, in words


@dataclass
class CallCounts:
    ok: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    truncated: int = 0  # ok answers cut off at max_tokens or the context
    dropped: bool = False  # truncated answers are left out of the metrics (truncated drop)


@dataclass
class Header:
    store: str
    experiment: str | None
    spec_path: str | None
    spec_hash: str | None
    run_status: str | None
    started_at: Any
    finished_at: Any
    probe: str | None
    probe_rows: int | None
    probe_auc: float | None
    goals: list[GoalInfo]
    groups: list[Group]
    samples: dict[str, int]  # intervention -> samples per request
    model_ids: dict[str, str]  # model name -> provider's model id, from the plan
    versions: dict[str, str]
    calls: dict[tuple[str, str], CallCounts]
    total: CallCounts


@dataclass
class Headline:
    """summary view rows: (model, intervention, metric) -> (n, median, q1, q3, iqr)."""

    cells: dict[tuple[str, str, str], tuple[int, float, float, float, float]]


@dataclass
class Distribution:
    metric: str
    ylim: tuple[float, float]
    # group -> (n, q1, median, q3, whisker_lo, whisker_hi, edges, counts)
    boxes: dict[tuple[str, str], tuple]


@dataclass
class SideEffects:
    # (model, intervention, goal) -> (mean |move| when requested, n, when not requested, n)
    by_goal: dict[tuple[str, str, str], tuple[float | None, int, float | None, int]]
    # (model, intervention) -> {(requested goal, other goal): mean |unrequested move|}
    matrix: dict[tuple[str, str], dict[tuple[str, str], float]]
    vmax: float


@dataclass
class FlowPanel:
    x_goal: str
    y_goal: str
    arrows: list[tuple[float, float, float, float]]
    field: list[tuple[float, float, float, float]]
    n: int


@dataclass
class ScatterPanel:
    goal: str
    points: list[tuple[float, float]]  # (requested delta, realized movement)
    n: int


@dataclass
class Example:
    row_id: int
    source: str
    group: Group
    request: str
    answer: str
    goals: list[tuple[str, float | None, float | None, float | None, float | None]]
    # (goal, source, delta, target, output)
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass
class StoreData:
    header: Header
    headline: Headline
    distributions: list[Distribution]
    side_effects: SideEffects
    flows: dict[tuple[str, str], list[FlowPanel]]
    scatters: dict[tuple[str, str], list[ScatterPanel]]
    best_of_n: dict[tuple[str, str], dict[str, list[tuple[int, float]]]]
    examples: list[Example]


def rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


# --- header ----------------------------------------------------------------------------------


def _measure_words(m: dict | None) -> str:
    if not m:
        return ""
    kind = m.get("kind")
    if kind == "builtin":
        return m.get("name", "")
    if kind == "python":
        return f"python {m.get('ref')}"
    if kind == "expr":
        return m.get("text", "expression")
    if kind == "judge":
        return f"judge {m.get('model')} ({m.get('scale_lo')}..{m.get('scale_hi')})"
    return str(kind)


def _norm_words(n: dict | None) -> str:
    if not n:
        return ""
    if n.get("kind") == "fixed":
        return f"fixed {n.get('lo')}..{n.get('hi')}"
    if n.get("kind") == "quantile":
        return f"quantile {n.get('lo_pct')}%..{n.get('hi_pct')}% of {n.get('corpus')}"
    return str(n.get("kind"))


def _json(value) -> Any:
    if value is None or isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def load_header(con, path: str) -> Header:
    run = rows(con, "SELECT spec_path, plan_hash, plan, versions, started_at, finished_at, status "
                    "FROM runs ORDER BY started_at DESC NULLS LAST LIMIT 1")
    spec_path = spec_hash = status = started = finished = None
    plan: dict = {}
    versions: dict = {}
    if run:
        spec_path, spec_hash, plan_json, versions_json, started, finished, status = run[0]
        plan = _json(plan_json) or {}
        versions = _json(versions_json) or {}
    plan_goals = {g.get("name"): g for g in plan.get("goals", [])}

    groups_rows = rows(con, f"SELECT DISTINCT model, intervention FROM {_METRICS} ORDER BY ALL")
    groups = [Group(m, i) for m, i in groups_rows]
    probe = rows(con, "SELECT p.name, p.n_rows, p.auc, p.space_hash FROM probes p "
                      "JOIN current c ON c.stage_hash = p.probe_hash ORDER BY p.name LIMIT 1")
    probe_name = probe_rows = auc = space_hash = None
    if probe:
        probe_name, probe_rows, auc, space_hash = probe[0]
    space = rows(con, "SELECT goal, lo, hi FROM goal_space WHERE space_hash = ? "
                      "ORDER BY position", [space_hash]) if space_hash else []
    if not space:  # no probe recorded: at least the goals the answers carry
        space = [(g, None, None) for (g,) in rows(con, f"SELECT DISTINCT goal FROM {_SELECTED} "
                                                       "ORDER BY goal")]
    goals = [GoalInfo(g, lo, hi, _measure_words(plan_goals.get(g, {}).get("measure")),
                      _norm_words(plan_goals.get(g, {}).get("normalize")))
             for g, lo, hi in space]
    samples = {i: int(n) for i, n in rows(
        con, f"SELECT intervention, max(sample) + 1 FROM {_METRICS} GROUP BY ALL ORDER BY ALL")}

    calls: dict[tuple[str, str], CallCounts] = {}
    for m, i, ok, failed, pt, ct, cost, truncated, policy in rows(con, """
            SELECT c.model, c.intervention, c.ok, c.calls - c.ok, coalesce(c.prompt_tokens, 0),
                   coalesce(c.completion_tokens, 0), c.cost, c.truncated, g.truncated_policy
            FROM calls_summary c JOIN current_generations g USING (gen_hash)
            ORDER BY c.model, c.intervention"""):
        calls[(m, i)] = CallCounts(ok, failed, int(pt), int(ct), cost, int(truncated),
                                   policy == "drop")
    costs = [c.cost for c in calls.values() if c.cost is not None]
    total = CallCounts(sum(c.ok for c in calls.values()), sum(c.failed for c in calls.values()),
                       sum(c.prompt_tokens for c in calls.values()),
                       sum(c.completion_tokens for c in calls.values()),
                       sum(costs) if costs else None,
                       sum(c.truncated for c in calls.values()))
    experiment = (plan.get("experiment") or {}).get("name")
    return Header(store=path, experiment=experiment, spec_path=spec_path, spec_hash=spec_hash,
                  run_status=status, started_at=started, finished_at=finished, probe=probe_name,
                  probe_rows=probe_rows, probe_auc=auc, goals=goals, groups=groups,
                  samples=samples,
                  model_ids={m.get("name"): m.get("model") for m in plan.get("models", [])},
                  versions={str(k): str(v) for k, v in versions.items()},
                  calls=calls, total=total)


# --- metrics ---------------------------------------------------------------------------------


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
    long = (f"(UNPIVOT (SELECT model, intervention, {cols} FROM {_METRICS} WHERE selected) "
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


# --- side effects ----------------------------------------------------------------------------


def load_side_effects(con) -> SideEffects:
    by_goal = {}
    for m, i, g, act_mean, act_n, ina_mean, ina_n in rows(con, f"""
            SELECT model, intervention, goal,
                   avg(abs(output - source)) FILTER (WHERE delta IS NOT NULL),
                   count(output) FILTER (WHERE delta IS NOT NULL),
                   avg(abs(output - source)) FILTER (WHERE delta IS NULL),
                   count(output) FILTER (WHERE delta IS NULL)
            FROM {_SELECTED} GROUP BY ALL"""):
        by_goal[(m, i, g)] = (act_mean, int(act_n), ina_mean, int(ina_n))
    matrix: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    for m, i, req, other, v in rows(con, f"""
            SELECT r.model, r.intervention, r.goal, o.goal, avg(abs(o.output - o.source))
            FROM {_SELECTED} r JOIN {_SELECTED} o USING (gen_hash, row_id, sample)
            WHERE r.delta IS NOT NULL AND o.delta IS NULL AND o.output IS NOT NULL
            GROUP BY ALL"""):
        matrix.setdefault((m, i), {})[(req, other)] = v
    values = [v for cells in matrix.values() for v in cells.values() if v is not None]
    return SideEffects(by_goal, matrix, max(values) if values else 1.0)


def load_flows(con, goals: list[str]) -> dict[tuple[str, str], list[FlowPanel]]:
    """Movements on pairs of goals that the row did not request to move."""
    shown = goals[:MAX_FLOW_GOALS]
    pairs = [(x, y) for k, x in enumerate(shown) for y in shown[k + 1:]]
    out: dict[tuple[str, str], list[FlowPanel]] = {}
    if not pairs:
        return out
    pair_sql = f"""
        WITH p AS (SELECT x.model, x.intervention, x.goal AS gx, y.goal AS gy,
                     x.source AS x0, y.source AS y0, x.output AS x1, y.output AS y1,
                     md5(concat_ws(':', x.gen_hash, x.row_id, x.sample, x.goal, y.goal)) AS h
              FROM {_SELECTED} x JOIN {_SELECTED} y USING (gen_hash, row_id, sample)
              WHERE x.delta IS NULL AND y.delta IS NULL AND x.output IS NOT NULL
                AND y.output IS NOT NULL
                AND (x.goal, y.goal) IN (SELECT (a, b) FROM (SELECT unnest(?) AS a,
                                                                    unnest(?) AS b)))"""
    params = [[x for x, _ in pairs], [y for _, y in pairs]]
    arrows: dict[tuple, list] = {}
    counts: dict[tuple, int] = {}
    for m, i, gx, gy, x0, y0, x1, y1, n in rows(con, pair_sql + """
            SELECT model, intervention, gx, gy, x0, y0, x1, y1, count(*) OVER w AS n
            FROM p WINDOW w AS (PARTITION BY model, intervention, gx, gy)
            QUALIFY row_number() OVER (PARTITION BY model, intervention, gx, gy ORDER BY h) <= ?
            ORDER BY ALL""", params + [MAX_ARROWS]):
        arrows.setdefault((m, i, gx, gy), []).append((x0, y0, x1, y1))
        counts[(m, i, gx, gy)] = int(n)
    fields: dict[tuple, list] = {}
    for m, i, gx, gy, cx, cy, dx, dy in rows(con, pair_sql + f"""
            SELECT model, intervention, gx, gy,
                   (least(floor(x0 * {FLOW_GRID}), {FLOW_GRID - 1}) + 0.5) / {FLOW_GRID},
                   (least(floor(y0 * {FLOW_GRID}), {FLOW_GRID - 1}) + 0.5) / {FLOW_GRID},
                   avg(x1 - x0), avg(y1 - y0)
            FROM p GROUP BY ALL HAVING count(*) >= 3 ORDER BY ALL""", params):
        fields.setdefault((m, i, gx, gy), []).append((cx, cy, cx + dx, cy + dy))
    for (m, i, gx, gy), arr in arrows.items():
        out.setdefault((m, i), []).append(
            FlowPanel(gx, gy, arr, fields.get((m, i, gx, gy), []), counts[(m, i, gx, gy)]))
    order = {p: k for k, p in enumerate(pairs)}
    for panels in out.values():
        panels.sort(key=lambda p: order[(p.x_goal, p.y_goal)])
    return out


def load_scatters(con, goals: list[str]) -> dict[tuple[str, str], list[ScatterPanel]]:
    """Requested delta against realized movement, per requested goal."""
    out: dict[tuple[str, str], list[ScatterPanel]] = {}
    data: dict[tuple, list] = {}
    counts: dict[tuple, int] = {}
    for m, i, g, d, mv, n in rows(con, f"""
            SELECT model, intervention, goal, delta, output - source,
                   count(*) OVER (PARTITION BY model, intervention, goal)
            FROM {_SELECTED}
            WHERE delta IS NOT NULL AND output IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY model, intervention, goal
                        ORDER BY md5(concat_ws(':', gen_hash, row_id, sample, goal))) <= ?
            ORDER BY ALL""", [MAX_POINTS]):
        data.setdefault((m, i, g), []).append((d, mv))
        counts[(m, i, g)] = int(n)
    order = {g: k for k, g in enumerate(goals)}
    for (m, i, g), pts in sorted(data.items(), key=lambda kv: (kv[0][:2],
                                                               order.get(kv[0][2], 99))):
        out.setdefault((m, i), []).append(ScatterPanel(g, pts, counts[(m, i, g)]))
    return out


# --- best of N -------------------------------------------------------------------------------


def load_best_of_n(con, variant: Variant) -> dict[tuple[str, str], dict[str, list]]:
    """Median of each metric of the pick among the first k samples, k = 1..N.

    The pick is the sample with the smallest raw steering error (ties: the lower sample), the
    rule of the metrics view's `selected`, restricted to samples < k. Interventions that
    `select first` get no curve.
    """
    cols = [metric_column(m, variant) for m in METRICS]
    # Interventions that `select first` keep sample 0 whatever the others score: no curve.
    sampled = f"""SELECT model, intervention, max(sample) + 1 AS n FROM {_METRICS}
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
            WITH m AS (SELECT * FROM {_METRICS} WHERE (model, intervention) IN
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


# --- examples --------------------------------------------------------------------------------


def load_examples(con, groups: list[Group], variant: Variant = "binned", n_rows: int = 2,
                  max_groups: int = 6) -> list[Example]:
    """The same few probe rows answered by each model x intervention (up to `max_groups`)."""
    shown = groups[:max_groups]
    if not shown:
        return []
    keys = [[g.model for g in shown], [g.intervention for g in shown]]
    picked = rows(con, f"""
        SELECT row_id FROM {_METRICS}
        WHERE selected AND n_active > 0 AND (model, intervention) IN
              (SELECT (a, b) FROM (SELECT unnest(?) AS a, unnest(?) AS b))
        GROUP BY row_id HAVING count(DISTINCT (model, intervention)) = ?
        ORDER BY md5(row_id::VARCHAR) LIMIT ?""", keys + [len(shown), n_rows])
    if not picked:
        picked = rows(con, f"SELECT row_id FROM {_METRICS} WHERE selected GROUP BY row_id "
                           "ORDER BY md5(row_id::VARCHAR) LIMIT ?", [n_rows])
    row_ids = [r[0] for r in picked]
    out = []
    for row_id in row_ids:
        for g in shown:
            found = rows(con, f"""
                SELECT m.gen_hash, m.sample, c.prompt, c.answer, t.text,
                       {", ".join(f"m.{metric_column(k, variant)}" for k in METRICS)}
                FROM {_METRICS} m
                JOIN calls c USING (gen_hash, row_id, sample)
                JOIN generations gen USING (gen_hash)
                LEFT JOIN probe_rows pr ON pr.probe_hash = gen.probe_hash
                                       AND pr.row_id = m.row_id
                LEFT JOIN texts t ON t.text_hash = pr.text_hash
                WHERE m.selected AND m.model = ? AND m.intervention = ? AND m.row_id = ?
                LIMIT 1""", [g.model, g.intervention, row_id])
            if not found:
                continue
            gen_hash, sample, prompt, answer, source, se, mis, orth = found[0]
            goals = rows(con, f"""
                SELECT a.goal, a.source, a.delta, a.target, a.output
                FROM {_SELECTED} a
                LEFT JOIN goal_space gs ON gs.goal = a.goal AND gs.space_hash IN
                    (SELECT p.space_hash FROM probes p JOIN current c
                     ON c.stage_hash = p.probe_hash)
                WHERE a.gen_hash = ? AND a.row_id = ? AND a.sample = ?
                ORDER BY gs.position NULLS LAST, a.goal""", [gen_hash, row_id, sample])
            out.append(Example(row_id=int(row_id), source=source or "", group=g,
                               request=_request(prompt, source), answer=answer or "",
                               goals=goals, metrics={"steering_error": se,
                                                     "miscalibration": mis,
                                                     "orthogonality": orth}))
    return out


def _request(prompt: str | None, source: str | None) -> str:
    """The instruction part of a prompt: the user turn without the source text at its end."""
    if not prompt:
        return ""
    if source and prompt.rstrip().endswith(source.strip()):
        return prompt.rstrip()[: -len(source.strip())].rstrip()
    return prompt


def load_store(con, path: str, variant: Variant) -> StoreData:
    con.execute("SET enable_progress_bar = false")
    materialize(con)
    if not rows(con, f"SELECT 1 FROM {_METRICS} LIMIT 1"):
        from steerdsl.errors import StoreError
        from steerdsl.store.progress import no_results_message

        raise StoreError(no_results_message(con, path))
    header = load_header(con, path)
    goals = [g.name for g in header.goals]
    return StoreData(header=header, headline=load_headline(con, variant),
                     distributions=load_distributions(con, variant),
                     side_effects=load_side_effects(con), flows=load_flows(con, goals),
                     scatters=load_scatters(con, goals), best_of_n=load_best_of_n(con, variant),
                     examples=load_examples(con, header.groups, variant))
