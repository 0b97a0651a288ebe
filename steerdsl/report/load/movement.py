"""How answers moved the goals: side effects, flows on pairs of unrequested goals, and
requested against realized movement."""

from __future__ import annotations

from steerdsl.report.data import FlowPanel, ScatterPanel, SideEffects
from steerdsl.report.load.views import SELECTED_TABLE, rows

# How many points / arrows a scatter or flow panel shows at most (seeded by content hash).
MAX_POINTS = 300
MAX_ARROWS = 160
FLOW_GRID = 6
MAX_FLOW_GOALS = 4


def load_side_effects(con) -> SideEffects:
    by_goal = {}
    for m, i, g, act_mean, act_n, ina_mean, ina_n in rows(con, f"""
            SELECT model, intervention, goal,
                   avg(abs(output - source)) FILTER (WHERE delta IS NOT NULL),
                   count(output) FILTER (WHERE delta IS NOT NULL),
                   avg(abs(output - source)) FILTER (WHERE delta IS NULL),
                   count(output) FILTER (WHERE delta IS NULL)
            FROM {SELECTED_TABLE} GROUP BY ALL"""):
        by_goal[(m, i, g)] = (act_mean, int(act_n), ina_mean, int(ina_n))
    matrix: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    for m, i, req, other, v in rows(con, f"""
            SELECT r.model, r.intervention, r.goal, o.goal, avg(abs(o.output - o.source))
            FROM {SELECTED_TABLE} r JOIN {SELECTED_TABLE} o USING (gen_hash, row_id, sample)
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
              FROM {SELECTED_TABLE} x JOIN {SELECTED_TABLE} y USING (gen_hash, row_id, sample)
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
            FROM {SELECTED_TABLE}
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
