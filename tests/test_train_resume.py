"""A training killed with SIGKILL mid-way resumes from its last complete checkpoint: the steps
up to it are not trained (or logged) again, every step is logged once, the adapter is written."""

from __future__ import annotations

import signal
import time

import pytest

import steerdsl
from steerdsl.train.files import last_checkpoint, train_dir
from support.train_specs import run, steerdsl as steerdsl_cli, training_rows, write_experiment

pytestmark = pytest.mark.train
STEPS = 4


def test_a_killed_training_resumes_from_its_last_checkpoint(tmp_path, tiny_llama):
    pytest.importorskip("trl")
    spec = write_experiment(tmp_path, tiny_llama, steps=STEPS, save_every=2)
    plan = steerdsl.load(spec).plan()
    folder = train_dir(plan, plan.stage("train:base/rl"))

    first = steerdsl_cli("run", str(spec), "--until", "train")
    deadline = time.monotonic() + 300
    while last_checkpoint(folder) is None:
        assert first.poll() is None, first.communicate()[1]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    _, resumed_from = last_checkpoint(folder)
    assert resumed_from < STEPS
    killed = {(step, name): (value, run_id, at)
              for step, name, value, run_id, at in training_rows(spec)}
    first_run = {run_id for _, run_id, _ in killed.values()}
    assert len(first_run) == 1 and min(step for step, _ in killed) == 1

    second = run(spec, "--until", "train")
    assert f"train:base/rl: resuming from step {resumed_from}" in second.stderr
    rows = training_rows(spec)
    assert sorted({r[0] for r in rows}) == list(range(1, STEPS + 1))
    assert len(rows) == len({(r[0], r[1]) for r in rows})  # each step's values once
    for step, name, value, run_id, at in rows:
        if step <= resumed_from:  # trained before the kill: kept as the first run logged it
            assert killed[step, name] == (value, run_id, at)
        else:
            assert run_id not in first_run
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
