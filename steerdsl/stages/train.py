"""train:M/I — the LoRA adapter of a fine-tune intervention, trained with GRPO (TRL) on its
training probe, rewarded in the spec's goal space."""

from __future__ import annotations

from steerdsl.errors import RunError
from steerdsl.plan.model import Stage
from steerdsl.stages.context import Outcome, RunContext

KIND = "train"
NEEDS = ("probe", "space")
CURRENT = True  # the `training` view follows the current train stages


def run(ctx: RunContext, stage: Stage) -> Outcome:
    raise RunError(f"{stage.id}: fine-tuning is not implemented yet")
