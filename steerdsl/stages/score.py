"""score:M/I — measure a generation's answers and write their per-goal values.

Idempotent: scores the ok answers that have no values yet (so it also completes a stage cut
short) or a failed value (read again from the measurement cache, so they are reported on every
run, and measured again with --retry-errors). Done only when every answer has all its values
and its generation is done.
"""

from __future__ import annotations

from steerdsl.plan.keys import ScoreKey
from steerdsl.plan.model import Stage, truncated_policy
from steerdsl.stages.context import (
    MEASURE_CHUNK,
    SKIPPED,
    MeasureTally,
    Outcome,
    RunContext,
    chunk_progress,
)

KIND = "score"
NEEDS = ("generate", "space")
CURRENT = False


def run(ctx: RunContext, stage: Stage) -> Outcome:
    from steerdsl.store import call_stats, outputs, verdicts

    key: ScoreKey = stage.key
    gen = ctx.plan.stage(key.generate)
    # Every run: the setting may change back and forth without regenerating anything.
    policy = truncated_policy(ctx.plan.model(key.model), ctx.plan.intervention(key.intervention))
    outputs.record_scoring(ctx.con, gen.hash, policy)
    if ctx.plan.evaluate is not None and ctx.plan.evaluate.grounding is None:
        # A judge stage records its grounding every run; without one, none holds.
        verdicts.forget_grounding(ctx.con, gen.hash)
    drop = policy == "drop"
    total = outputs.count_answers_to_score(ctx.con, gen.hash, drop_truncated=drop)
    if not total and ctx.done(stage):
        return SKIPPED
    label = f"score {key.model}/{key.intervention}"
    bar = ctx.display.stage(label, total * len(ctx.plan.goals))
    failed = 0
    if total:
        # Chunk by chunk: read the answers, measure them, write their values, next chunk.
        tally = MeasureTally()
        scored = 0
        for todo in outputs.answers_to_score(ctx.con, gen.hash, drop_truncated=drop,
                                             size=MEASURE_CHUNK):
            measured = ctx.measure([t[2] for t in todo],
                                   progress=chunk_progress(bar, scored, len(todo), total),
                                   ids=[f"{gen.id}:{t[0]}:{t[1]}" for t in todo])
            outputs.save_outputs(ctx.con, gen.hash, [t[0] for t in todo], [t[1] for t in todo],
                                 _values(ctx, measured.raw))
            tally.add(measured)
            scored += len(todo)
        failed = tally.n_errors
        if failed:
            bar.error(failed)
            ctx.say_measure_errors(label, tally)
        ctx.result.failed_measurements += failed
        ctx.stop_if_unmeasured(tally)  # the values written stay; NULL ones are asked again
    if failed:  # also undoes a stage marked done by an older version with failed values
        return Outcome(not_done=True)
    if not call_stats.failed_calls(ctx.con, gen.hash) and ctx.done(gen):
        return Outcome(done={})
    return Outcome()


def _values(ctx: RunContext, raw: dict) -> dict:
    """Per goal, the answers' raw and normalized values (outputs.save_outputs)."""
    from steerdsl.goals.normalize import normalize

    bounds = ctx.state.bounds()
    return {g.name: (raw[g.name], normalize(raw[g.name], *bounds[g.name]))
            for g in ctx.plan.goals}
