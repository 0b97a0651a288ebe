"""Plans with a groundedness judge, for tests and benchmarks of the judge stage (the spec
language has no `judge` block yet: the judge is added to a plan built from a spec).

Run as a script, it runs such a plan: `python judge_plans.py SPEC [ORDER]` (the kill -9 test).
"""

from __future__ import annotations

import sys
from pathlib import Path

import steerdsl
from steerdsl.plan.graph import build_stages
from steerdsl.plan.model import JudgePlan, ModelPlan, Plan
from support.note_specs import notes_spec

MARK = "SAME CONTENT?"  # in every judge prompt, in no rewrite prompt
TEMPLATE = (MARK + ' Could these two versions describe the same content? Reply with JSON '
            '{"answer": "Yes"|"No", "rationale": "..."}.\n\nVersion A: {version_a}\n\n'
            'Version B: {version_b}')


def write_spec(folder: Path, url: str, *, rows: int = 6, store: str = "judged.duckdb",
               concurrency: int = 4, interventions: str = "direct", samples: int = 1,
               budget: float | None = None) -> Path:
    """Source texts "Note 0. ...", "Note 1. ...": unique, so each probe row has its own."""
    sampled = f" sample {samples} temperature 1.0" if samples > 1 else ""
    return notes_spec(
        folder, "judged.steer", experiment="judged", store=store, url=url, sources=rows,
        budget="" if budget is None else str(budget),
        model=(f"concurrency {concurrency}", "retries 1", "price in 100 out 100"),
        interventions={"direct": f"prompt direct{sampled}",
                       "neg": f"prompt direct negative{sampled}"},
        evaluate=interventions)


def with_judge(plan: Plan, *, model: str = "fake", order: str = "random",
               candidates: str = "selected", spot_check: int = 0,
               extra_models: list[ModelPlan] = (), template: str = TEMPLATE,
               name: str = "meaning") -> Plan:
    """`plan` grounded by a judge (its stages recomputed)."""
    judge = JudgePlan(name=name, model=model, prompt="custom", template=template, order=order,
                      spot_check=spot_check, candidates=candidates)
    grounded = plan.model_copy(update={
        "models": plan.models + list(extra_models), "judges": [judge],
        "evaluate": plan.evaluate.model_copy(update={"grounding": judge.name})})
    stages, totals = build_stages(grounded, Path(plan.spec_path).parent)
    return grounded.model_copy(update={"stages": stages, "totals": totals})


def judged_plan(spec: Path, **kw) -> Plan:
    return with_judge(steerdsl.load(spec).plan(), **kw)


if __name__ == "__main__":
    from steerdsl.run.runner import run_plan

    result = run_plan(judged_plan(Path(sys.argv[1]), order=sys.argv[2] if len(sys.argv) > 2
                                  else "random"), quiet=True)
    print(result.status)
