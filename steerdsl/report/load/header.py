"""The report's header: the run, the probe, the goal space and the calls of a store."""

from __future__ import annotations

import json
from typing import Any

from steerdsl.report.data import CallCounts, GoalInfo, Group, Header
from steerdsl.report.load.views import METRICS_TABLE, SELECTED_TABLE, rows


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

    groups_rows = rows(con, f"SELECT DISTINCT model, intervention FROM {METRICS_TABLE} "
                            "ORDER BY ALL")
    groups = [Group(m, i) for m, i in groups_rows]
    probe = rows(con, "SELECT p.name, p.n_rows, p.auc, p.space_hash FROM probes p "
                      "JOIN current c ON c.stage_hash = p.probe_hash ORDER BY p.name LIMIT 1")
    probe_name = probe_rows = auc = space_hash = None
    if probe:
        probe_name, probe_rows, auc, space_hash = probe[0]
    space = rows(con, "SELECT goal, lo, hi FROM goal_space WHERE space_hash = ? "
                      "ORDER BY position", [space_hash]) if space_hash else []
    if not space:  # no probe recorded: at least the goals the answers carry
        space = [(g, None, None) for (g,) in rows(
            con, f"SELECT DISTINCT goal FROM {SELECTED_TABLE} ORDER BY goal")]
    goals = [GoalInfo(g, lo, hi, _measure_words(plan_goals.get(g, {}).get("measure")),
                      _norm_words(plan_goals.get(g, {}).get("normalize")))
             for g, lo, hi in space]
    samples = {i: int(n) for i, n in rows(
        con, f"SELECT intervention, max(sample) + 1 FROM {METRICS_TABLE} "
             "GROUP BY ALL ORDER BY ALL")}

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
    judging = _judging(con)
    experiment = (plan.get("experiment") or {}).get("name")
    return Header(store=path, experiment=experiment, spec_path=spec_path, spec_hash=spec_hash,
                  run_status=status, started_at=started, finished_at=finished, probe=probe_name,
                  probe_rows=probe_rows, probe_auc=auc, goals=goals, groups=groups,
                  samples=samples,
                  model_ids={m.get("name"): m.get("model") for m in plan.get("models", [])},
                  versions={str(k): str(v) for k, v in versions.items()},
                  calls=calls, total=total, judging=judging)


def _judging(con) -> CallCounts | None:
    """What LLM judges cost: the verdicts of the current generations' judges, and the requests
    of judged goals."""
    (n, pt, ct, priced, cost), = rows(con, """
        WITH j AS (
            SELECT prompt_tokens, completion_tokens, cost FROM verdicts
            WHERE status = 'ok' AND judge_id IN (SELECT judge_id FROM groundings
                WHERE gen_hash IN (SELECT gen_hash FROM current_generations))
            UNION ALL
            SELECT prompt_tokens, completion_tokens, cost FROM judge_calls)
        SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
               count(cost), sum(cost) FROM j""")
    if not n:
        return None
    return CallCounts(ok=int(n), prompt_tokens=int(pt), completion_tokens=int(ct),
                      cost=float(cost) if priced else None)
