"""One GRPO training of a LoRA adapter through TRL's GRPOTrainer, resumable.

The caller hands over the training set's columns (the chat-format `prompt` and every column a
reward reads) and the reward functions; this module owns the TRL, peft and Trainer settings,
the checkpoints (every `save_every` steps, the last two kept), resuming from the newest
complete one, and the finished adapter, moved into place whole.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steerdsl.plan.model import GrpoPlan
from steerdsl.train.files import adapter_dir, checkpoints, checkpoints_dir, last_checkpoint

KEEP_CHECKPOINTS = 2
# The summary the Trainer logs once at the end (train_runtime, ...) is not a step.
_SUMMARY_KEY = "train_runtime"


@dataclass(frozen=True)
class GrpoJob:
    base: Path  # the checkpoint folder trained from
    folder: Path  # the train stage's folder (files.train_dir)
    settings: GrpoPlan
    seed: int
    columns: dict[str, list]  # the training set: `prompt` plus what the rewards read
    rewards: list[Callable]  # one per settings.rewards, in that order


def resume_step(folder: Path) -> int:
    """The step training would resume from (0: from the start)."""
    found = last_checkpoint(folder)
    return found[1] if found else 0


def train(job: GrpoJob, *, on_log: Callable[[int, dict[str, float]], None],
          on_step: Callable[[int], None]) -> int:
    """Train to `settings.steps` (resuming from the last complete checkpoint), then write the
    adapter; the number of steps trained in all. `on_log(step, values)` gets what TRL logs each
    step, `on_step(step)` the step reached."""
    from datasets import Dataset
    from transformers.utils import logging
    from trl import GRPOTrainer

    logging.disable_progress_bar()  # the stage shows its own progress
    resume = last_checkpoint(job.folder)
    _drop_incomplete(job.folder)
    with warnings.catch_warnings():
        # TRL calls transformers' deprecated names every step: warnings for its maintainers,
        # noise between a run's progress lines.
        warnings.filterwarnings("ignore", category=FutureWarning)
        trainer = GRPOTrainer(model=str(job.base), reward_funcs=job.rewards,
                              args=_config(job), train_dataset=Dataset.from_dict(job.columns),
                              peft_config=_lora(job.settings),
                              callbacks=[_callback(on_log, on_step)])
        _quiet(trainer)
        trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)
        _save_adapter(trainer, adapter_dir(job.folder))
    return trainer.state.global_step


def _config(job: GrpoJob):
    import torch
    from trl import GRPOConfig

    s = job.settings
    return GRPOConfig(
        output_dir=str(checkpoints_dir(job.folder)),
        max_steps=s.steps, num_generations=s.generations, per_device_train_batch_size=s.batch,
        gradient_accumulation_steps=1, learning_rate=s.learning_rate, beta=s.beta,
        max_completion_length=s.max_completion, temperature=s.temperature,
        reward_weights=[r.weight for r in s.rewards], seed=job.seed, data_seed=job.seed,
        save_strategy="steps", save_steps=s.save_every, save_total_limit=KEEP_CHECKPOINTS,
        logging_steps=1, report_to="none", disable_tqdm=True,
        # Checkpointing activations trades compute for memory: a bad trade on CPU.
        gradient_checkpointing=torch.cuda.is_available(), use_cpu=not torch.cuda.is_available())


def _lora(settings: GrpoPlan):
    from peft import LoraConfig

    lora = settings.lora
    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")


def _callback(on_log, on_step):
    from transformers import TrainerCallback

    class StepReporter(TrainerCallback):
        def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
            if logs and _SUMMARY_KEY not in logs:
                on_log(state.global_step, {k: float(v) for k, v in logs.items()
                                           if isinstance(v, (int, float))
                                           and not isinstance(v, bool)})

        def on_step_end(self, args, state, control, **kwargs):
            on_step(state.global_step)

    return StepReporter()


def _quiet(trainer) -> None:
    """The stage shows its own progress bar: no Trainer printing of every log."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def _drop_incomplete(folder: Path) -> None:
    """A checkpoint cut off mid-save (killed) would be counted by the Trainer's rotation: it is
    removed before training resumes (the step is trained and saved again)."""
    for _, path, complete in checkpoints(folder):
        if not complete:
            shutil.rmtree(path, ignore_errors=True)


def _save_adapter(trainer, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))  # a peft model: the adapter only (and the tokenizer)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
