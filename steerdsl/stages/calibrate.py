"""calibrate:M/I — the fit of a calibrated prompt intervention (`calibrate on PROBE`) on one
model (docs/method.md, "Calibrated requests").

The model answers the calibration probe with the intervention's prompt, uncalibrated, through
the generate engine: the answers are `calls` under this stage's hash, so a resumed run never
asks for a stored answer again. They are measured like scored answers, and the fit of realized
versus requested movement (steerdsl.calibration.fit) is stored. The fit is made only of a
complete set of answers, so it is the same whenever it is made.
"""

from __future__ import annotations

import numpy as np

from steerdsl.plan.keys import CalibrateKey, ProbeKey
from steerdsl.plan.model import Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "calibrate"
NEEDS = ("probe", "space")
CURRENT = True  # the calibration views follow the current calibrate stages


def run(ctx: RunContext, stage: Stage) -> Outcome:
    from steerdsl.stages.generate import finish
    from steerdsl.stages.generate.engine import run_generate
    from steerdsl.stages.generate.rows import ProbeRequests
    from steerdsl.store.calibration import has_fit

    key: CalibrateKey = stage.key
    if ctx.done(stage) and has_fit(ctx.con, stage.hash):
        return SKIPPED
    if key.model in ctx.result.unreachable:
        return Outcome(ran="not_run")
    probe_hash = ctx.plan.stage(ProbeKey(probe=key.probe)).hash
    rows = ProbeRequests(ctx.con, probe_hash)
    iv = ctx.plan.intervention(key.intervention)
    bar = ctx.display.stage(f"calibrate {key.model}/{key.intervention}", len(rows) * iv.samples)
    model = ctx.plan.model(key.model)
    # One request at a time even for a `batch on` model: the fit is needed before the
    # evaluation's requests can be written.
    stats = run_generate(ctx.con, ctx.plan, stage, rows, model=model, progress=bar,
                         retry_errors=ctx.retry_errors, ledger=ctx.ledger, register=False)
    if not finish(ctx, stage, model, stats):
        return Outcome(not_done=True)
    return Outcome(done=_fit(ctx, stage, probe_hash))


def _fit(ctx: RunContext, stage: Stage, probe_hash: str) -> dict:
    """Measure the answers, fit, store; the stage's info. Values left unmeasured for want of
    budget stop the run (the next run measures them and fits)."""
    from steerdsl.calibration.fit import fit_calibration
    from steerdsl.store.calibration import save_fit
    from steerdsl.store.calls import ok_answers
    from steerdsl.store.probes import load_probe

    key: CalibrateKey = stage.key
    answers = ok_answers(ctx.con, stage.hash)
    label = f"calibrate {key.model}/{key.intervention}"
    measured = ctx.measure([a[2] for a in answers],
                           ids=[f"{stage.id}:{r}:{s}" for r, s, _ in answers])
    if measured.errors:
        ctx.say_measure_errors(label, measured)
    ctx.stop_if_unmeasured(measured)
    output = ctx.state.normalized(measured.raw)
    table = load_probe(ctx.con, probe_hash).table
    rows = np.array([r for r, _, _ in answers], dtype=np.int64)
    goals = table.goals
    requested = table.delta[rows]
    realized = np.column_stack([output[g] for g in goals]) - table.source[rows]
    iv = ctx.plan.intervention(key.intervention)
    fit = fit_calibration(goals, requested, realized, ctx.plan.prompt(iv.prompt).modifiers)
    points = []
    for k, (row_id, sample, _) in enumerate(answers):
        for j, goal in enumerate(goals):
            asked = requested[k, j]
            fitted = None if np.isnan(asked) or goal not in fit.goals else \
                float(fit.goals[goal].predict(asked))
            points.append((row_id, sample, goal, _value(asked), _value(realized[k, j]), fitted))
    save_fit(ctx.con, stage.hash, key.model, key.intervention, fit, points)
    return {"answers": len(answers), "goals": len(fit.goals)}


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
