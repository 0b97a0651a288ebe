"""Training: what each current train stage logged step by step (view `training`), its
finished adapter (table adapters), and its planned steps and rewards (the run's stored plan)."""

from __future__ import annotations

import json

from steerdsl.report.data import TrainedAdapter, TrainingStage
from steerdsl.report.load.views import rows


def load_training(con) -> list[TrainingStage]:
    """Current train stages that logged a step or finished; none when nothing trained."""
    stages = rows(con, "SELECT stage, stage_hash FROM current WHERE stage LIKE 'train:%' "
                       "ORDER BY stage")
    if not stages:
        return []
    curves: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for stage, step, name, value in rows(con, "SELECT train_stage, step, name, value "
                                              "FROM training ORDER BY train_stage, name, step"):
        curves.setdefault(stage, {}).setdefault(name, []).append((int(step), float(value)))
    adapters = {h: TrainedAdapter(path, int(steps), seconds) for h, path, steps, seconds
                in rows(con, "SELECT train_hash, path, steps, seconds FROM adapters "
                             "WHERE train_hash IN (SELECT stage_hash FROM current)")}
    planned = _planned(con)
    out = []
    for stage, stage_hash in stages:
        if stage not in curves and stage_hash not in adapters:
            continue  # not started: nothing to show
        model, _, intervention = stage.split(":", 1)[1].partition("/")
        steps, rewards = planned.get(stage_hash, (None, []))
        out.append(TrainingStage(model=model, intervention=intervention,
                                 curves=curves.get(stage, {}), planned_steps=steps,
                                 adapter=adapters.get(stage_hash), rewards=rewards))
    return out


def _planned(con) -> dict[str, tuple[int | None, list[tuple[str, float]]]]:
    """Train stage hash -> its counts["steps"] and its intervention's rewards (name, weight),
    from the newest run's plan that has the stage (stores from `import-reference`, or without
    runs, have none)."""
    out: dict[str, tuple[int | None, list[tuple[str, float]]]] = {}
    for stage_hash, stage, steps, interventions in rows(con, """
            WITH s AS (SELECT unnest(from_json(json_extract(plan, '$.stages'), '["JSON"]')) AS s,
                              plan, started_at
                       FROM runs WHERE json_valid(plan))
            SELECT s->>'hash', s->>'id', TRY_CAST(s->'counts'->>'steps' AS INTEGER),
                   json_extract(plan, '$.interventions')
            FROM s WHERE s->>'kind' = 'train'
            ORDER BY started_at DESC NULLS LAST"""):
        if stage_hash not in out:
            name = stage.partition("/")[2]
            out[stage_hash] = (steps, _rewards(json.loads(interventions or "[]"), name))
    return out


def _rewards(interventions: list[dict], name: str) -> list[tuple[str, float]]:
    """RewardPlan.name and weight of each reward of the named intervention."""
    iv = next((iv for iv in interventions if iv.get("name") == name), {})
    return [(f"error_{r.get('goal')}" if r.get("metric") == "error" else str(r.get("metric")),
             float(r.get("weight", 1.0)))
            for r in (iv.get("train") or {}).get("rewards", [])]
