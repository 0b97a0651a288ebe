"""The identity verdicts are cached under: the judge stage's content without the generation
(the seed, the judge's settings but its name and model name, the judge model's identity
without pacing or price), so every generation, and every spec, using the same judge shares
its verdicts."""

from __future__ import annotations

from steerdsl.plan.graph import _judge_content
from steerdsl.plan.hashing import stable_hash
from steerdsl.plan.model import JudgePlan, Plan


def judge_identity(plan: Plan, judge: JudgePlan) -> str:
    # The graph's own hash content of the judge stage, so the two never disagree about what
    # decides a verdict.
    return stable_hash({"kind": "judge", **_judge_content(plan, judge)})
