"""Fine-tuning in the language: hf models, probe exclusion, finetune interventions; every
check with its exact message and place, and the plan they build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import steerdsl
from steerdsl.lang import keywords
from steerdsl.plan import model as pm
from support.spec_blocks import APART, HEAD, LOCAL_MODEL, block, block_errors, write_blocks

ROOT = Path(__file__).resolve().parent.parent
BASE = {
    **HEAD,
    "train": APART,
    "model": LOCAL_MODEL,
    "intervention": ("intervention rl {\n  finetune grpo\n  on t\n"
                     "  reward steering_error\n}\n"),
    "evaluate": "evaluate { probe p  models m  interventions rl }\n",
}
# Lines of the base spec: experiment 1, corpus 2, goals 3-6, probe 7, train 8, model 9,
# intervention 10-14 (its items from line 11), evaluate 15.


def write(tmp_path: Path, **blocks: str) -> Path:
    return write_blocks(tmp_path, BASE, blocks)


def errors(tmp_path: Path, **blocks: str) -> list[str]:
    return block_errors(tmp_path, BASE, blocks)


def intervention(*lines: str) -> str:
    return block("intervention rl", *lines)


def test_a_finetune_builds_its_plan_with_every_default(tmp_path):
    plan = steerdsl.load(write(tmp_path)).plan()
    iv = plan.intervention("rl")
    assert iv == pm.FinetuneIntervention(
        name="rl", prompt="direct",
        train=pm.GrpoPlan(probe="t", rewards=[pm.RewardPlan(metric="steering_error")]))
    assert plan.probe("t").exclude == ["p"]
    assert [s.id for s in plan.stages] == [
        "corpus:c", "measure:c", "space", "probe:p", "probe:t", "train:m/rl", "generate:m/rl",
        "score:m/rl"]
    assert plan.stage("probe:t").inputs == ["space", "measure:c", "probe:p"]
    assert plan.stage("train:m/rl").inputs == ["probe:t", "space"]
    assert plan.stage("train:m/rl").counts == {"steps": 200, "completions": 1600}
    assert plan.stage("generate:m/rl").inputs == ["probe:p", "train:m/rl"]


def test_every_setting_reaches_the_plan(tmp_path):
    iv = intervention(
        "finetune grpo", "on t", "prompt direct", "negative", "no_explain off", "sample 2",
        "reward steering_error", "reward orthogonality weight 0.5",
        "reward miscalibration weight 2",
        "reward error formality good_enough 0.05 decile weight 0.2",
        "lora r 8 alpha 16 dropout 0", "steps 3  generations 2  batch 4  learning_rate 1e-5",
        "beta 0.01  max_completion 32  train_temperature 0.7  save_every 1",
        'serve "http://127.0.0.1:8000/v1"')
    got = steerdsl.load(write(tmp_path, intervention=iv)).plan().intervention("rl")
    assert got == pm.FinetuneIntervention(
        name="rl", prompt="direct", negative=True, no_explain=False, samples=2,
        serve="http://127.0.0.1:8000/v1",
        train=pm.GrpoPlan(
            probe="t",
            rewards=[pm.RewardPlan(metric="steering_error"),
                     pm.RewardPlan(metric="orthogonality", weight=0.5),
                     pm.RewardPlan(metric="miscalibration", weight=2),
                     pm.RewardPlan(metric="error", goal="formality", good_enough=0.05,
                                   decile=True, weight=0.2)],
            lora=pm.LoraPlan(r=8, alpha=16, dropout=0), steps=3, generations=2, batch=4,
            learning_rate=1e-5, beta=0.01, max_completion=32, temperature=0.7, save_every=1))
    assert [r.name for r in got.train.rewards] == [
        "steering_error", "orthogonality", "miscalibration", "error_formality"]


def test_the_checkers_defaults_are_the_plans():
    fields = pm.GrpoPlan.model_fields
    for key in ("generations", "batch"):
        assert keywords.TRAINING[key].default == fields[key].default


def test_hf_models_are_ids_or_folders_relative_to_the_spec(tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text("{}", encoding="utf-8")
    models = ('model a { hf "HuggingFaceTB/SmolLM2-135M-Instruct" max_tokens 128 }\n'
              'model b { hf "./ckpt" }\nmodel c { hf "ckpt" }\n')
    plan = steerdsl.load(write(tmp_path, model=models,
                               evaluate="evaluate { probe p  models a, b, c  "
                                        "interventions rl }\n")).plan()
    assert [(m.provider, m.model) for m in plan.models] == [
        ("hf", "HuggingFaceTB/SmolLM2-135M-Instruct"), ("hf", str(tmp_path / "ckpt")),
        ("hf", str(tmp_path / "ckpt"))]
    assert plan.stage("train:b/rl").hash == plan.stage("train:c/rl").hash


def test_hf_errors(tmp_path):
    models = 'model m { hf "./nowhere"  api_base "http://x" }\n'
    assert errors(tmp_path, model=models) == [
        f"9:14: checkpoint folder not found: ./nowhere (looked at {tmp_path}/nowhere)",
        "9:27: an hf model has no api_base",
    ]


def test_a_hosted_model_cannot_be_fine_tuned(tmp_path):
    model = 'model m { local "smollm2" }\nmodel gpt { litellm "openai/gpt-4o" }\n'
    assert errors(tmp_path, model=model,
                  evaluate="evaluate { probe p  models m, gpt  interventions rl }\n") == [
        "16:31: model gpt is a hosted litellm model and cannot be fine-tuned by intervention "
        "rl; use `hf \"...\"` or `local \"smollm2\"`"]


def test_the_training_probe(tmp_path):
    assert errors(tmp_path, intervention=BASE["intervention"].replace("on t", "on tt")) == [
        "12:6: unknown probe 'tt' (defined: p, t); did you mean 't'?"]
    assert errors(tmp_path, intervention=BASE["intervention"].replace("on t", "on p")) == [
        "12:6: intervention 'rl' trains on probe 'p', which is the evaluated probe: train on "
        "another probe that excludes it"]
    assert errors(tmp_path, train=BASE["train"].replace(" exclude p", "")) == [
        "12:6: training probe 't' draws from corpus 'c' like the evaluated probe 'p': add "
        "`exclude p` to probe t so no source text is in both"]
    (tmp_path / "t.csv").write_text("text\n", encoding="utf-8")
    assert errors(tmp_path, train='probe t from csv "t.csv"\n') == [
        "12:6: probe 't' is read from a CSV file; fine-tuning trains on a sampled probe "
        "(probe t from CORPUS { ... })"]


def test_exclusions(tmp_path):
    train = "probe t from c { sources 2 requests 2 per source active 1 exclude t, q, p, p }\n"
    assert errors(tmp_path, train=train) == [
        "8:67: probe 't' cannot exclude itself",
        "8:70: unknown probe 'q' (defined: p, t)",
        "8:76: probe 'p' is listed twice",
    ]
    probe = "probe p from c { sources 2 requests 2 per source active 1 exclude t }\n"
    assert errors(tmp_path, probe=probe) == [
        "7:67: probes 'p' and 't' exclude each other (through their exclude lists): each is "
        "drawn after the ones it excludes, so one must not exclude the other",
        "8:67: probes 't' and 'p' exclude each other (through their exclude lists): each is "
        "drawn after the ones it excludes, so one must not exclude the other",
    ]


def test_rewards(tmp_path):
    iv = intervention(
        "finetune grpo", "on t", "reward steering_eror", "reward error",
        "reward error formalty", "reward orthogonality formality",
        "reward miscalibration squared good_enough 0.1 decile",
        "reward error formality squared", "reward steering_error weight 0 good_enough 1.5",
        "reward steering_error decile")
    assert errors(tmp_path, intervention=iv) == [
        "13:10: unknown reward 'steering_eror' (available: steering_error, miscalibration, "
        "orthogonality, error); did you mean 'steering_error'?",
        "14:10: reward error is one goal's error: reward error GOAL",
        "15:16: unknown goal 'formalty' (defined: reading_difficulty, formality); did you "
        "mean 'formality'?",
        "16:24: reward orthogonality is over every goal and takes no goal (one goal's error "
        "is: reward error formality)",
        "17:25: 'squared' applies only to reward steering_error, not to miscalibration",
        "17:33: 'good_enough' applies only to reward steering_error and error, not to "
        "miscalibration",
        "17:49: 'decile' applies only to reward steering_error and error, not to "
        "miscalibration",
        "18:26: 'squared' applies only to reward steering_error, not to error",
        "19:32: 'weight' must be above 0, got 0",
        "19:46: 'good_enough' must be between 0 and 1, got 1.5",
        "20:3: reward 'steering_error' is given twice in intervention 'rl' (first at line "
        "19); each reward once",
    ]


def test_a_finetune_needs_its_probe_and_a_reward_and_a_known_method(tmp_path):
    assert errors(tmp_path, intervention=intervention("finetune ppo")) == [
        "11:3: intervention 'rl' fine-tunes but has no reward: add  reward steering_error  "
        "(or miscalibration, orthogonality, error GOAL)",
        "11:3: intervention 'rl' fine-tunes but names no training probe: add  on PROBE  "
        "(a sampled probe)",
        "11:12: unknown fine-tuning method 'ppo' (available: grpo)",
    ]


def test_training_settings_in_a_prompt_intervention(tmp_path):
    iv = intervention("prompt direct", "on t", "reward steering_error", "lora r 4",
                      "steps 3")
    msg = "is a fine-tuning setting but intervention 'rl' does not fine-tune: add  " \
        "finetune grpo  (and  on PROBE)"
    assert errors(tmp_path, intervention=iv) == [
        f"12:3: 'on' {msg}", f"13:3: 'reward' {msg}", f"14:3: 'lora' {msg}",
        f"15:3: 'steps' {msg}"]


def test_training_ranges(tmp_path):
    iv = intervention(
        "finetune grpo", "on t", "reward steering_error", "lora r 0 alpha 0 dropout 1",
        "steps 0  generations 1  batch 0  learning_rate 0  beta -0.1",
        "max_completion 0  train_temperature 0  save_every 0", "lora", "steps 2")
    assert errors(tmp_path, intervention=iv) == [
        "14:10: 'r' must be at least 1, got 0",
        "14:18: 'alpha' must be above 0, got 0",
        "14:28: 'dropout' must be at least 0 and below 1, got 1",
        "15:9: 'steps' must be at least 1, got 0",
        "15:24: 'generations' must be at least 2, got 1",
        "15:33: 'batch' must be at least 1, got 0",
        "15:50: 'learning_rate' must be above 0, got 0",
        "15:58: 'beta' must be at least 0, got -0.1",
        "16:18: 'max_completion' must be at least 1, got 0",
        "16:39: 'train_temperature' must be above 0, got 0",
        "16:53: 'save_every' must be at least 1, got 0",
        "17:3: 'lora' is set twice in intervention rl (first at line 14)",
        "18:3: 'steps' is set twice in intervention rl (first at line 15)",
    ]


@pytest.mark.parametrize(("settings", "where"), [
    ("generations 4  batch 6", "15:24"), ("batch 6", "15:9"), ("generations 3", "15:15"),
])
def test_the_batch_is_a_multiple_of_the_generations(tmp_path, settings, where):
    iv = intervention("finetune grpo", "on t", "reward steering_error", "lora", settings)
    batch, generations = (int(x) for x in (
        settings.split("batch ")[1] if "batch" in settings else "8",
        settings.split("generations ")[1].split()[0] if "generations" in settings else "8"))
    assert errors(tmp_path, intervention=iv) == [
        f"{where}: 'batch' ({batch}) must be a multiple of 'generations' ({generations}): a "
        f"step answers batch / generations prompts, each {generations} times"]


def test_the_training_probe_needs_phrases_too(tmp_path):
    goals = ("goals {\n  reading_difficulty = char_count normalize 0..100\n"
             "  pol = char_count / word_count normalize 0..10\n}\n")
    probe = ("probe p from c { sources 2 requests 2 per source active 1 "
             "goals reading_difficulty }\n")
    assert errors(tmp_path, goals=goals, probe=probe) == [
        "10:14: goal 'pol' may be moved by probe 't' but prompt 'direct' (used by intervention "
        "'rl') has no phrase for it: add  phrase pol up \"...\" down \"...\"  to a prompt "
        "extending direct"]


def test_check_and_compile_never_import_the_training_libraries(tmp_path):
    spec = write(tmp_path, model='model m { hf "org/some-model" }\n')
    code = ("import sys\nfrom steerdsl.cli import main\n"
            f"assert main(['check', {str(spec)!r}]) == 0\n"
            f"assert main(['compile', {str(spec)!r}]) == 0\n"
            "loaded = [m for m in ('torch', 'transformers', 'trl', 'peft', 'accelerate', "
            "'datasets') if m in sys.modules]\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "train:m/rl" in done.stdout


def test_in_process_models_are_free_under_a_budget(tmp_path):
    spec = steerdsl.load(write(tmp_path, experiment="experiment e { seed 1  budget 5 }\n",
                               model='model m { hf "org/some-model" }\n'))
    assert spec.warnings == []
