"""Where fine-tuning keeps its files: beside the store, in `<store stem>.train/`.

One folder per train stage, `<intervention>-<hash[:12]>/`, holding `checkpoints/checkpoint-N`
(the Trainer's, the last two kept: a killed training resumes from the newest) and `adapter/`
(the finished LoRA adapter, moved into place whole). The stage's hash names the folder, so a
changed spec never reuses another training's checkpoints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from steerdsl.plan.keys import TrainKey
from steerdsl.plan.model import Plan, Stage

ADAPTER = "adapter"
CHECKPOINTS = "checkpoints"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
# The Trainer writes trainer_state.json last: a checkpoint without it (or with it cut short)
# was killed mid-save.
_STATE = "trainer_state.json"
_WEIGHTS = "adapter_model.safetensors"


def train_root(plan: Plan) -> Path:
    """The folder beside the store that holds every training's files (and base checkpoints)."""
    store = Path(plan.experiment.store)
    return store.parent / f"{store.stem}.train"


def train_dir(plan: Plan, stage: Stage) -> Path:
    key = stage.key
    if not isinstance(key, TrainKey):
        raise TypeError(f"{stage.id} is not a train stage")
    return train_root(plan) / f"{key.intervention}-{stage.hash[:12]}"


def adapter_dir(folder: Path) -> Path:
    return folder / ADAPTER


def checkpoints_dir(folder: Path) -> Path:
    return folder / CHECKPOINTS


def checkpoints(folder: Path) -> list[tuple[int, Path, bool]]:
    """(step, path, complete) of each checkpoint of a training folder, by step."""
    root = checkpoints_dir(folder)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _CHECKPOINT.fullmatch(p.name)
        if m and p.is_dir():
            found.append((int(m.group(1)), p, _complete(p)))
    return sorted(found)


def last_checkpoint(folder: Path) -> tuple[Path, int] | None:
    """The newest complete checkpoint of a training folder and its step, if any."""
    done = [(step, path) for step, path, complete in checkpoints(folder) if complete]
    if not done:
        return None
    step, path = done[-1]
    return path, step


def _complete(checkpoint: Path) -> bool:
    if not (checkpoint / _WEIGHTS).is_file():
        return False
    try:
        json.loads((checkpoint / _STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True
