"""train:M/I — the LoRA adapter of a fine-tune intervention, trained with GRPO (TRL) on its
training probe, rewarded in the spec's goal space.

Files live beside the store (steerdsl.train.files); what TRL logs each step goes into the
store as it happens (table train_log), and the finished adapter is recorded (table adapters).
A killed training resumes from its last checkpoint; the steps logged after that checkpoint
are forgotten and trained again.
"""

from __future__ import annotations

import time

from steerdsl import catalog
from steerdsl.versions import TRAINING
from steerdsl.plan.keys import TrainKey
from steerdsl.plan.model import FinetuneIntervention, Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "train"
NEEDS = ("probe", "space")
CURRENT = True  # the `training` view follows the current train stages
STEP_SECONDS = "step_time"  # what TRL logs as a step's duration


def run(ctx: RunContext, stage: Stage) -> Outcome:
    from steerdsl.llm.hf import require_packages
    from steerdsl.store import train_log
    from steerdsl.train.base_model import trainable_checkpoint
    from steerdsl.train.files import adapter_dir, train_dir, train_root

    key: TrainKey = stage.key
    folder = train_dir(ctx.plan, stage)
    if ctx.done(stage) and (adapter_dir(folder) / "adapter_config.json").is_file():
        return SKIPPED
    require_packages("fine-tuning")
    from steerdsl.train.grpo import GrpoJob, resume_step, train

    iv = ctx.plan.intervention(key.intervention)
    assert isinstance(iv, FinetuneIntervention)
    bar = ctx.display.stage(f"train {key.model}/{key.intervention}", iv.train.steps)
    bar.status("preparing the base model")
    base = trainable_checkpoint(ctx.plan.model(key.model), train_root(ctx.plan))
    bar.status("")
    start = resume_step(folder)
    if start:
        train_log.forget_log_after(ctx.con, stage.hash, start)
        ctx.display.say(f"  {stage.id}: resuming from step {start}")
        bar.update(start)
    job = GrpoJob(base=base, folder=folder, settings=iv.train, seed=ctx.plan.experiment.seed,
                  columns=_training_columns(ctx, iv), rewards=_rewards(ctx, iv))
    # Seconds summed over runs: this run's, and the steps earlier runs trained and kept.
    earlier = sum(v for step, name, v in train_log.log_rows(ctx.con, stage.hash)
                  if name == STEP_SECONDS and step <= start)
    began = time.monotonic()
    steps = train(job, on_step=bar.update,
                  on_log=lambda step, values: train_log.record_log(
                      ctx.con, stage.hash, step, values, ctx.result.run_id))
    train_log.save_adapter(ctx.con, train_log.Adapter(
        train_hash=stage.hash, model=key.model, intervention=key.intervention,
        path=str(adapter_dir(folder)), steps=steps,
        seconds=earlier + time.monotonic() - began,
        versions={p: catalog.distribution_version(p) for p in TRAINING}))
    return Outcome(done={"steps": steps})


def _training_columns(ctx: RunContext, iv: FinetuneIntervention) -> dict[str, list]:
    from steerdsl.train.dataset import training_set

    return training_set(ctx.plan, ctx.con, iv.train.probe, iv.name).columns


def _rewards(ctx: RunContext, iv: FinetuneIntervention) -> list:
    from steerdsl.train.rewards import GoalSpace, reward_functions

    # Answers are cleaned for the intervention's prompt (a cot prompt's answer follows its
    # header), as the score stage cleans the tuned model's answers.
    return reward_functions(GoalSpace(ctx.plan, ctx.con, prompt=iv.prompt), iv.train.rewards)
