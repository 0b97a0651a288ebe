"""A drawn probe as a training set: one entry per probe row in each column (docs/running.md,
"export-train"). The prompts are the generate stage's, rendered with the same function."""

from __future__ import annotations

import math
from dataclasses import dataclass

from steerdsl.errors import RunError
from steerdsl.plan.keys import ProbeKey
from steerdsl.plan.model import InterventionPlan, Plan, PromptIntervention, PromptPlan
from steerdsl.prompts.render import row_prompt


@dataclass(frozen=True)
class TrainingSet:
    goals: list[str]  # every goal of the space, in plan order
    # prompt ([{"role": "user", "content": ...}]), row_id, text_id, source_text, and per goal
    # g: source_g, delta_g (None: not asked to move), target_g (the source when not asked),
    # then weight: one entry per probe row
    columns: dict[str, list]

    def __len__(self) -> int:
        return len(self.columns["row_id"])

    def rows(self) -> list[dict]:
        """The same data row by row."""
        names = list(self.columns)
        return [dict(zip(names, values)) for values in zip(*self.columns.values())]


# What training prompts with when no intervention is named: the built-in `direct` prompt,
# no negative suffix, the no-explain suffix (the defaults of `intervention x { prompt direct }`).
DEFAULT_INTERVENTION = PromptIntervention(name="direct", prompt="direct")


def training_set(plan: Plan, con, probe: str, intervention: str | None = None) -> TrainingSet:
    """The rows of the drawn probe `probe` (its stage must be done in the store `con`),
    prompted as the intervention `intervention` prompts them (None: DEFAULT_INTERVENTION)."""
    from steerdsl.store.probes import load_probe, probe_weights
    from steerdsl.store.stages import is_done

    if probe not in {p.name for p in plan.probes}:
        raise RunError(f"the spec has no probe '{probe}'; its probes: "
                       f"{', '.join(p.name for p in plan.probes) or 'none'}")
    iv, prompt = _prompting(plan, intervention)
    stage = plan.stage(ProbeKey(probe=probe))
    if not is_done(con, stage.hash):
        raise RunError(f"probe {probe} has not been drawn yet: run "
                       f"`steerdsl run {plan.spec_path} --until probe` first")
    table = load_probe(con, stage.hash).table
    goals = [g.name for g in plan.goals]
    missing = [g for g in goals if g not in table.goals]
    if missing:
        raise RunError(f"probe {probe} in the store has no values for goal(s) "
                       f"{', '.join(missing)}: run `steerdsl run {plan.spec_path} --until "
                       "probe` again")
    where = [table.goals.index(g) for g in goals]
    weights = probe_weights(con, stage.hash)
    columns: dict[str, list] = {"prompt": [], "row_id": [], "text_id": [], "source_text": []}
    for g in goals:
        columns.update({f"source_{g}": [], f"delta_{g}": [], f"target_{g}": []})
    for i, text in enumerate(table.texts):
        source = [_number(table.source[i, j]) for j in where]
        delta = [_number(table.delta[i, j]) for j in where]
        target = [_number(table.target[i, j]) for j in where]
        try:
            content = row_prompt(plan.experiment.seed, prompt, iv, i, dict(zip(goals, delta)),
                                 text)
        except ValueError as e:
            raise RunError(f"probe {probe}, row {i}: {e}") from None
        columns["prompt"].append([{"role": "user", "content": content}])
        columns["row_id"].append(i)
        columns["text_id"].append(table.text_ids[i])
        columns["source_text"].append(text)
        for g, s, d, t in zip(goals, source, delta, target):
            columns[f"source_{g}"].append(s)
            columns[f"delta_{g}"].append(d)
            # z*: the source where the goal is not asked to move, so every reward can use it
            columns[f"target_{g}"].append(s if t is None else t)
    columns["weight"] = [1.0 if w is None else float(w) for w in weights]
    return TrainingSet(goals=goals, columns=columns)


def _prompting(plan: Plan, intervention: str | None) -> tuple[InterventionPlan, PromptPlan]:
    if intervention is not None:
        iv = intervention_of(plan, intervention)
        return iv, plan.prompt(iv.prompt)
    return DEFAULT_INTERVENTION, direct_prompt(plan)


def intervention_of(plan: Plan, name: str) -> InterventionPlan:
    """The plan's intervention `name`; RunError naming the ones there are."""
    names = [i.name for i in plan.interventions]
    if name not in names:
        raise RunError(f"the spec has no intervention '{name}'; its interventions: "
                       f"{', '.join(names) or 'none'}")
    return plan.intervention(name)


def direct_prompt(plan: Plan) -> PromptPlan:
    """The spec's `direct` prompt (its own phrases), else the built-in one over the paper's
    goals the spec has."""
    if any(p.name == "direct" for p in plan.prompts):
        return plan.prompt("direct")
    from steerdsl.prompts.builtin import PAPER_PHRASES, builtin_prompt

    return builtin_prompt("direct", {g.name: PAPER_PHRASES[g.name] for g in plan.goals
                                     if g.name in PAPER_PHRASES})


def _number(x: float) -> float | None:
    return None if math.isnan(x) else float(x)
