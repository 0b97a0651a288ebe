"""measure:C — every goal's raw value for every text of a corpus, through the measurement
cache (so a done stage only reads the store, and --retry-errors measures failures again)."""

from __future__ import annotations

from steerdsl.plan.model import Stage
from steerdsl.stages.context import Outcome, RunContext

KIND = "measure"
NEEDS = ("corpus",)
CURRENT = False


def run(ctx: RunContext, stage: Stage) -> Outcome:
    name = stage.key.corpus
    rows = ctx.state.corpus(name)
    already = ctx.done(stage)
    bar = ctx.display.stage(f"measure {name}", len(rows) * len(ctx.plan.goals))
    measured = ctx.measure([r[1] for r in rows], ids=[r[0] for r in rows], progress=bar)
    ctx.stop_if_unmeasured(measured)
    ctx.state.keep_raw(name, measured.raw)
    if measured.errors:
        bar.error(len(measured.errors))
        if not already or ctx.retry_errors:
            ctx.say_measure_errors(f"measure {name}", measured)
    if already:
        return Outcome(ran="skipped")
    return Outcome(done={"texts": len(rows), "errors": len(measured.errors)})
