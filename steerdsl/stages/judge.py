"""judge:M/I — groundedness verdicts on one generation's answers (by default the selected
candidate of each request), by the judge `evaluate { grounding J }` names."""

from __future__ import annotations

from steerdsl.errors import RunError
from steerdsl.plan.model import Stage
from steerdsl.stages.context import Outcome, RunContext

KIND = "judge"
NEEDS = ("generate", "score")
CURRENT = True


def run(ctx: RunContext, stage: Stage) -> Outcome:
    raise RunError(f"{stage.id}: groundedness judging is not available in this version")
