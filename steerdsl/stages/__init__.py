"""The stage kinds of a run, one module each, in the order a run executes them.

Each module has `KIND` (its kind in steerdsl.plan.keys), `NEEDS` (the kinds whose results it
reads, through the run state), `CURRENT` (whether the views follow its hash through the
`current` table) and `run(ctx, stage) -> Outcome`. The runner (steerdsl.run.runner) is only
the loop; adding a stage kind is adding a module, its key in steerdsl.plan.keys, its graph
in steerdsl.plan.graph, and one line here.
"""

from __future__ import annotations

from steerdsl.plan.keys import STAGE_KINDS
from steerdsl.stages import (calibrate, corpus, generate, judge, measure, probe, score, space,
                             train)

STAGES = (corpus, measure, space, probe, train, calibrate, generate, score, judge)

if tuple(s.KIND for s in STAGES) != STAGE_KINDS:  # pragma: no cover - a programming error
    raise ImportError("steerdsl.stages.STAGES is not in the order of steerdsl.plan.keys."
                      "STAGE_KINDS")
