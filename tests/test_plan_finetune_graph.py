"""The stages of a fine-tune: the train stage's hash follows the base model, the training
probe, the rewards and the hyper-parameters, never pacing or the spec's place; the generate
stage follows the train stage; a prompt intervention's stages keep their hashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import steerdsl

SPEC = '''\
experiment e { seed 42  store "runs/e.duckdb" }
corpus c { read "c.jsonl" text "text" }
goals {
  length = char_count normalize 10..2000
  words  = word_count normalize 0..100
}
probe p from c { sources 2 requests 3 per source active 1 }
probe t from c { sources 2 requests 3 per source active 1 exclude p }
model base { hf "./ckpt"  max_tokens 64  concurrency 2 }
model tiny { local "smollm2" }
intervention plain { prompt direct }
intervention rl {
  finetune grpo
  on t
  reward steering_error
  lora r 8
  steps 3  generations 2  batch 4
}
evaluate { probe p  models base, tiny  interventions plain, rl }
'''

TRAIN = {"train:base/rl", "generate:base/rl", "score:base/rl"}


def _project(root: Path, spec: str = SPEC) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "c.jsonl").write_text('{"text": "a b c"}\n{"text": "d e f g"}\n{"text": "h i"}\n'
                                  '{"text": "j"}\n', encoding="utf-8")
    ckpt = root / "ckpt"
    ckpt.mkdir(exist_ok=True)
    (ckpt / "config.json").write_text('{"layers": 2}', encoding="utf-8")
    path = root / "s.steer"
    path.write_text(spec, encoding="utf-8")
    return path


def _hashes(path: Path) -> dict[str, str]:
    return {s.id: s.hash for s in steerdsl.load(path).plan().stages}


def _changed(tmp_path: Path, old: str, new: str) -> set[str]:
    before = _hashes(_project(tmp_path / "a"))
    assert old in SPEC
    after = _hashes(_project(tmp_path / "b", SPEC.replace(old, new)))
    assert before.keys() == after.keys()
    return {k for k in before if before[k] != after[k]}


def test_stages_and_inputs(tmp_path):
    plan = steerdsl.load(_project(tmp_path)).plan()
    assert [s.id for s in plan.stages] == [
        "corpus:c", "measure:c", "space", "probe:p", "probe:t",
        "generate:base/plain", "score:base/plain",
        "train:base/rl", "generate:base/rl", "score:base/rl",
        "generate:tiny/plain", "score:tiny/plain",
        "train:tiny/rl", "generate:tiny/rl", "score:tiny/rl"]
    assert plan.stage("train:tiny/rl").inputs == ["probe:t", "space"]
    assert plan.stage("train:tiny/rl").counts == {"steps": 3, "completions": 12}
    assert plan.stage("generate:tiny/rl").inputs == ["probe:p", "train:tiny/rl"]
    assert plan.stage("generate:tiny/plain").inputs == ["probe:p"]


@pytest.mark.parametrize(("old", "new"), [
    ("reward steering_error\n", "reward steering_error\n  reward orthogonality weight 0.5\n"),
    ("reward steering_error\n", "reward steering_error squared\n"),
    ("steps 3", "steps 4"),
    ("lora r 8", "lora r 8 alpha 8"),
    ("max_tokens 64", "max_tokens 65"),  # the base model's sampling: its answers
])
def test_training_settings_change_the_train_stage_and_what_follows(tmp_path, old, new):
    changed = _changed(tmp_path, old, new)
    if old == "max_tokens 64":
        assert changed == TRAIN | {"generate:base/plain", "score:base/plain"}
    else:
        assert changed == TRAIN | {s.replace("base", "tiny") for s in TRAIN}


def test_the_base_checkpoint_counts_by_content(tmp_path):
    before = _hashes(_project(tmp_path / "a"))
    path = _project(tmp_path / "b")
    (path.parent / "ckpt" / "config.json").write_text('{"layers": 3}', encoding="utf-8")
    after = _hashes(path)
    assert {k for k in before if before[k] != after[k]} == TRAIN | {
        "generate:base/plain", "score:base/plain"}


def test_pacing_and_the_projects_place_change_nothing(tmp_path):
    assert _changed(tmp_path, "concurrency 2", "concurrency 9") == set()
    a = _project(tmp_path / "here")
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(a.parent, moved)
    assert _hashes(a) == _hashes(moved / "s.steer")


def test_the_training_probe_and_what_it_excludes(tmp_path):
    # the evaluated probe is an input of the training probe: t, and so the training, follow it
    changed = _changed(tmp_path, "probe p from c { sources 2 requests 3",
                       "probe p from c { sources 2 requests 2")
    assert "probe:t" in changed and "train:base/rl" in changed
    assert _changed(tmp_path, "probe t from c { sources 2 requests 3",
                    "probe t from c { sources 3 requests 3") == {
        "probe:t"} | TRAIN | {s.replace("base", "tiny") for s in TRAIN}


def test_a_prompt_interventions_stages_are_as_without_the_fine_tune(tmp_path):
    without = SPEC.replace("interventions plain, rl", "interventions plain") \
        .replace(" exclude p", "")
    without = without[:without.index("intervention rl")] + \
        without[without.index("evaluate"):]
    a = _hashes(_project(tmp_path / "a"))
    b = _hashes(_project(tmp_path / "b", without))
    assert {k: v for k, v in a.items() if k in b and k != "probe:t"} == \
        {k: v for k, v in b.items() if k != "probe:t"}
    assert a["probe:t"] != b["probe:t"]  # excluding p makes p an input
