"""Training: what each current train stage logged step by step (view `training`), its
finished adapter (table adapters) and its planned steps (the run's stored plan)."""

from __future__ import annotations

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
    planned = _planned_steps(con)
    out = []
    for stage, stage_hash in stages:
        if stage not in curves and stage_hash not in adapters:
            continue  # not started: nothing to show
        model, _, intervention = stage.split(":", 1)[1].partition("/")
        out.append(TrainingStage(model=model, intervention=intervention,
                                 curves=curves.get(stage, {}),
                                 planned_steps=planned.get(stage_hash),
                                 adapter=adapters.get(stage_hash)))
    return out


def _planned_steps(con) -> dict[str, int]:
    """Train stage hash -> its counts["steps"], from the newest run's plan that has the stage
    (stores from `import-reference`, or without runs, have none)."""
    out: dict[str, int] = {}
    for stage_hash, steps in rows(con, """
            SELECT s->>'hash', TRY_CAST(s->'counts'->>'steps' AS INTEGER)
            FROM (SELECT unnest(from_json(json_extract(plan, '$.stages'), '["JSON"]')) AS s,
                         started_at
                  FROM runs WHERE json_valid(plan))
            WHERE s->>'kind' = 'train'
            ORDER BY started_at DESC NULLS LAST"""):
        if steps is not None:
            out.setdefault(stage_hash, int(steps))
    return out
