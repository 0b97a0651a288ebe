"""`steerdsl export-train` through the real CLI (a subprocess) and `datasets.load_dataset` on
what it wrote; `steerdsl.rewards` by name and by a fine-tune intervention's declarations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import steerdsl
from steerdsl.errors import RunError
from steerdsl.plan.model import RewardPlan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    from support.train_store import scored_store

    return scored_store(tmp_path_factory.mktemp("export"), sources=6)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "steerdsl.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_export_train_writes_files_datasets_loads(spec, tmp_path):
    import datasets

    out = tmp_path / "train"
    done = _cli("export-train", str(spec), "p", "-o", str(out), "--intervention", "best",
                cwd=spec.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote 24 rows of probe p to {out} (train.parquet, " \
                                  "train.jsonl, meta.json)"
    meta = json.loads((out / "meta.json").read_text())
    plan = steerdsl.load(spec).plan()
    assert meta["spec_hash"] == plan.spec_hash and meta["rows"] == 24
    assert meta["goals"] == [g.name for g in plan.goals]
    assert meta["bounds"]["text_length"] == {"lo": 78.0, "hi": 1509.0}
    assert meta["probe_hash"] == plan.stage("probe:p").hash

    cache = str(tmp_path / "hf-cache")
    parquet = datasets.load_dataset("parquet", data_files=str(out / "train.parquet"),
                                    split="train", cache_dir=cache)
    jsonl = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train",
                                  cache_dir=cache)
    assert len(parquet) == len(jsonl) == 24
    assert parquet.column_names == jsonl.column_names == meta["columns"]
    assert parquet[0]["prompt"][0]["role"] == "user"
    for column in parquet.column_names:
        assert parquet[column] == jsonl[column], column
    # the prompts are the ones the best intervention sent (negative suffix on)
    assert all("You MUST" in p[0]["content"] for p in parquet["prompt"])

    # the reward functions take the loaded rows' columns as they are
    functions = steerdsl.rewards(spec, ["steering_error", "error_formality"])
    try:
        batch = parquet[:4]
        values = functions[0](completions=batch["source_text"], **batch)
        # the source itself: steering error = ||z* - z0||
        r = np.array([[batch[f"target_{g}"][i] - batch[f"source_{g}"][i]
                       for g in meta["goals"]] for i in range(4)])
        assert values == pytest.approx(-np.sqrt((r ** 2).sum(1)), abs=1e-12)
        assert [f.__name__ for f in functions] == ["steering_error", "error_formality"]
    finally:
        functions[0].space.close()

    # a rerun replaces its own export; a folder with other files needs --force
    assert _cli("export-train", str(spec), "p", "-o", str(out), cwd=spec.parent).returncode == 0
    (out / "notes.txt").write_text("mine")
    refused = _cli("export-train", str(spec), "p", "-o", str(out), cwd=spec.parent)
    assert refused.returncode == 2 and "holds files that are not a training set" in \
        refused.stderr
    assert _cli("export-train", str(spec), "p", "-o", str(out), "--force",
                cwd=spec.parent).returncode == 0


def test_export_train_errors(spec, tmp_path):
    from steerdsl.cli import main

    assert main(["export-train", str(spec), "nope", "-o", str(tmp_path / "x")]) == 2
    bare = tmp_path / "fresh"
    bare.mkdir()
    text = spec.read_text().replace('store "out/exp.duckdb"', 'store "other.duckdb"')
    (bare / "exp.steer").write_text(text)
    for name in ("corpus.jsonl", "trainmeasures.py"):
        (bare / name).write_text((spec.parent / name).read_text())
    done = _cli("export-train", str(bare / "exp.steer"), "p", "-o", str(tmp_path / "y"),
                cwd=bare)
    assert done.returncode == 1
    assert "probe p has not been drawn yet (no store at" in done.stderr
    assert "--until probe` first" in done.stderr


def test_rewards_by_name_and_by_intervention(spec):
    with pytest.raises(RunError, match=r"unknown reward 'steering_eror' \(did you mean "
                                       r"'steering_error'\?\)"):
        steerdsl.rewards(spec, ["steering_eror"])
    default = steerdsl.rewards(spec)
    default[0].space.close()
    assert [f.__name__ for f in default] == ["steering_error"]

    # a fine-tune intervention's declared rewards, with their options and weights
    declared = [RewardPlan(metric="steering_error", good_enough=0.05, decile=True),
                RewardPlan(metric="orthogonality", weight=0.5),
                RewardPlan(metric="error", goal="formality", weight=0.2)]
    functions = steerdsl.rewards(spec, intervention="rl")
    try:
        assert [(f.__name__, f.weight, f.reward) for f in functions] == [
            ("steering_error", 1.0, declared[0]), ("orthogonality", 0.5, declared[1]),
            ("error_formality", 0.2, declared[2])]
        picked = steerdsl.rewards(spec, ["orthogonality"], intervention="rl")
        picked[0].space.close()
        assert picked[0].reward == declared[1]
        with pytest.raises(RunError, match="unknown reward 'miscalibration'"):
            steerdsl.rewards(spec, ["miscalibration"], intervention="rl")
    finally:
        functions[0].space.close()


def test_rewards_need_the_space(tmp_path):
    text = (Path(__file__).parent / "support" / "train_store.py")
    from support.train_store import write_spec

    spec = write_spec(tmp_path, "http://127.0.0.1:9/v1")
    assert text.is_file()
    with pytest.raises(RunError, match=r"the goal space has not been computed yet \(no store "
                                       r"at .*\): run `steerdsl run .*exp.steer --until space`"):
        steerdsl.rewards(spec)
