"""A small fine-tuning experiment on the tiny random Llama (tests/support/tiny_llama.py): two
cheap goals, an evaluated probe and a training probe that excludes it, a prompt intervention
and a GRPO one. Runs through the real CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.stores import read_rows

SPEC = """
experiment tuned {{ seed 3  store "run.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  length = char_count normalize 0..200
  words  = word_count normalize 0..40
}}
probe p from c {{ sources 3 unweighted  requests 1 per source  active 1  delta -0.7..0.7 deadzone 0.1 }}
probe t from c {{ sources 4 unweighted  requests 2 per source  active 1  exclude p }}
model base {{ hf "{model}"  temperature 1  max_tokens 24 }}
intervention direct {{ prompt direct }}
intervention rl {{
  finetune grpo
  on t
  prompt direct
  reward steering_error
  reward error length weight 0.5
  lora r 4 alpha 8
  steps {steps}  generations 2  batch 4  learning_rate 0.0001  beta 0.01  max_completion 16
  save_every {save_every}
}}
evaluate {{ probe p  models base  interventions direct, rl }}
"""
_WORDS = ("the committee met on a rainy tuesday to talk about the new library budget and the "
          "old roof").split()


def write_experiment(folder: Path, model: Path, *, steps: int = 3, save_every: int = 25) -> Path:
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(14):
            words = " ".join(_WORDS[(i + k) % len(_WORDS)] for k in range(6 + (i * 5) % 14))
            f.write(json.dumps({"text": f"Note {i}. {words}."}) + "\n")
    spec = folder / "tuned.steer"
    spec.write_text(SPEC.format(model=model, steps=steps, save_every=save_every),
                    encoding="utf-8")
    return spec


def steerdsl(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "steerdsl.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run(spec: Path, *args: str) -> subprocess.CompletedProcess:
    p = steerdsl("run", str(spec), *args)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def training_rows(spec: Path) -> list[tuple]:
    """(step, name, value, run_id, logged_at) of the train stage's log."""
    return read_rows(spec.parent / "run.duckdb",
                     "SELECT step, name, value, run_id, logged_at FROM train_log "
                     "ORDER BY step, name")
