"""The identity verdicts are cached under: the judge stage's content without the generation
(the seed, the judge's settings but its name and model name, the judge model's identity
without pacing or price), so every generation, and every spec, using the same judge shares
its verdicts.

Of the judge's settings, those that decide which answers are judged or reviewed, not what the
judge answers (`candidates`, `spot_check`), are left out too: judging every candidate after
the selected ones, or drawing a larger spot check, asks nothing again."""

from __future__ import annotations

from steerdsl.plan.graph import judge_content
from steerdsl.plan.hashing import stable_hash
from steerdsl.plan.model import JudgePlan, Plan

_NOT_IN_A_VERDICT = ("candidates", "spot_check")


def judge_identity(plan: Plan, judge: JudgePlan) -> str:
    # The graph's own hash content of the judge stage, so the two never disagree about what
    # decides a verdict.
    content = judge_content(plan, judge)
    content["judge"] = {k: v for k, v in content["judge"].items() if k not in _NOT_IN_A_VERDICT}
    return stable_hash({"kind": "judge", **content})
