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
    raw, tally = ctx.measure_chunks([r[1] for r in rows], ids=[r[0] for r in rows],
                                    progress=bar)
    ctx.stop_if_unmeasured(tally)
    ctx.state.keep_raw(name, raw)
    if tally.n_errors:
        bar.error(tally.n_errors)
        if not already or ctx.retry_errors:
            ctx.say_measure_errors(f"measure {name}", tally)
    if already:
        return Outcome(ran="skipped")
    return Outcome(done={"texts": len(rows), "errors": tally.n_errors})
