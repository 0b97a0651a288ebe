"""space — each goal's normalization bounds: fixed, or quantiles of a corpus's raw values."""

from __future__ import annotations

from steerdsl.plan.model import Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "space"
NEEDS = ("measure",)
CURRENT = True


def run(ctx: RunContext, stage: Stage) -> Outcome:
    if ctx.done(stage):
        return SKIPPED  # the state reads the bounds from the store when a later stage asks
    from steerdsl.goals.normalize import space_bounds
    from steerdsl.store.space import save_space

    bounds = space_bounds(ctx.plan.goals, ctx.state.raw)
    save_space(ctx.con, stage.hash, [(i, g.name, g.measure_id, *bounds[g.name])
                                     for i, g in enumerate(ctx.plan.goals)])
    ctx.state.keep_bounds(bounds)
    return Outcome(done={})
