"""Small plans and probe rows for tests of the generate stage (no spec, no front end)."""

from __future__ import annotations

from steerdsl.stages.generate.engine import GenRow
from steerdsl.plan import keys
from steerdsl.plan.hashing import stable_hash
from steerdsl.plan.model import (ExperimentPlan, InterventionPlan, ModelPlan, Plan,
                                 PromptIntervention, SamplingParams, Stage)
from steerdsl.prompts.builtin import builtin_prompt

GOALS = ["reading_difficulty", "textual_diversity", "text_length", "formality"]


def fake_model(url: str, name: str = "fake", **kw) -> ModelPlan:
    kw.setdefault("retries", 2)
    kw.setdefault("timeout", 5.0)
    return ModelPlan(name=name, provider="litellm", model=kw.pop("model", "openai/fake"),
                     api_base=url, **kw)


def make_plan(models: list[ModelPlan], interventions: list[InterventionPlan],
              store: str = "unused.duckdb", seed: int = 7) -> Plan:
    prompts = {iv.prompt for iv in interventions}
    probe = Stage(key=keys.ProbeKey(probe="p"), inputs=[], hash="probe-hash-0001")
    stages = [probe]
    for m in models:
        for iv in interventions:
            key = keys.GenerateKey(model=m.name, intervention=iv.name, probe="p")
            sid = key.id
            stages.append(Stage(key=key, inputs=["probe:p"],
                                hash=stable_hash([sid, m.model_dump(mode="json"),
                                                  iv.model_dump(mode="json")])))
    return Plan(
        spec_path="/nowhere/test.steer", spec_hash="spec-hash",
        experiment=ExperimentPlan(name="t", seed=seed, store=store),
        goals=[], corpora=[], probes=[], models=models,
        prompts=[builtin_prompt(p) for p in sorted(prompts)],
        interventions=interventions, stages=stages, versions={})


def intervention(name: str = "direct", prompt: str = "direct", **kw) -> PromptIntervention:
    if "sampling" in kw and isinstance(kw["sampling"], dict):
        kw["sampling"] = SamplingParams(**kw["sampling"])
    return PromptIntervention(name=name, prompt=prompt, **kw)


def make_rows(n: int, start: int = 0) -> list[GenRow]:
    """Row i asks to move one or two goals; its text is unique ("source text 17 ...")."""
    rows = []
    for i in range(start, start + n):
        deltas: dict[str, float | None] = {g: None for g in GOALS}
        deltas[GOALS[i % 4]] = 0.3 if i % 2 else -0.6
        if i % 3 == 0:
            deltas[GOALS[(i + 1) % 4]] = 0.15
        rows.append(GenRow(row_id=i, text=f"source text {i} about a quiet afternoon.",
                           deltas=deltas))
    return rows
