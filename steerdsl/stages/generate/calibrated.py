"""The requests of a calibrated intervention: each probe row asks what its calibrate stage's
fit says lands on the row's target, and to keep strongly side-affected goals unchanged
(docs/method.md, "Calibrated requests"). What each row asks is recorded (table
calibration_requests); the probe's own deltas and targets stay what the answers are scored
against."""

from __future__ import annotations

from steerdsl.calibration.requests import asked_deltas, calibrate_row, keep_threshold
from steerdsl.plan.keys import CalibrateKey
from steerdsl.plan.model import PromptIntervention, SampledProbePlan, Stage
from steerdsl.stages.context import RunContext
from steerdsl.stages.generate.rows import GenRow

# The deadzone of a probe read from CSV (it has none of its own): the paper's.
CSV_DEADZONE = 0.1


def calibrated_rows(ctx: RunContext, stage: Stage, iv: PromptIntervention,
                    rows: list[GenRow]) -> list[GenRow] | None:
    """The rows with calibrated deltas and keeps; None when the calibrate stage is not done
    (its answers are incomplete), so nothing is asked without a fit."""
    from steerdsl.store.calibration import load_calibration, save_requests

    key = stage.key
    calibrate = ctx.plan.stage(CalibrateKey(model=key.model, intervention=iv.name,
                                            probe=iv.calibrate))
    if not ctx.done(calibrate):
        ctx.display.warn(f"  {stage.id}: not generated: {calibrate.id} has no fit yet (its "
                         "answers are incomplete); rerun to complete it")
        return None
    fit = load_calibration(ctx.con, calibrate.hash)
    probe = ctx.plan.probe(key.probe)
    deadzone = probe.deadzone if isinstance(probe, SampledProbePlan) else CSV_DEADZONE
    prompt = ctx.plan.prompt(iv.prompt)
    out, records = [], []
    for row in rows:
        requests = calibrate_row(row.deltas, fit, prompt, keep_threshold(deadzone))
        asked, keep = asked_deltas(requests)
        out.append(GenRow(row.row_id, row.text, {g: asked.get(g) for g in row.deltas}, keep))
        records += [(row.row_id, r.goal, r.requested, r.asked, r.words, r.predicted)
                    for r in requests]
    save_requests(ctx.con, stage.hash, records)
    return out
