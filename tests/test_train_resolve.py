"""Which model the generate stage of a fine-tune intervention asks: the base model plus its
train stage's adapter in process, or the vLLM server that serves the adapter (`serve`).
Nothing is loaded or built to say so (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import steerdsl
from steerdsl.plan.keys import GenerateKey
from steerdsl.stages.generate import resolve_model
from steerdsl.train.files import last_checkpoint, train_dir

SPEC = """
experiment e {{ seed 1  store "out/e.duckdb" }}
corpus c {{ read "c.jsonl" text "text" }}
goals {{ length = char_count normalize 0..100 }}
probe p from c {{ sources 1 requests 1 per source active 1 }}
probe t from c {{ sources 1 requests 1 per source active 1 exclude p }}
model tiny {{ local "smollm2"  temperature 0.5  max_tokens 64  concurrency 3  timeout 30 }}
intervention rl {{ finetune grpo  on t  reward steering_error {serve} }}
evaluate {{ probe p  models tiny  interventions rl }}
"""


def _plan(tmp_path: Path, serve: str = ""):
    (tmp_path / "c.jsonl").write_text('{"text": "a b"}\n{"text": "c d"}\n', encoding="utf-8")
    spec = tmp_path / "s.steer"
    spec.write_text(SPEC.format(serve=serve), encoding="utf-8")
    return steerdsl.load(spec).plan()


def test_a_tuned_model_is_the_base_plus_its_adapter(tmp_path):
    plan = _plan(tmp_path)
    model = resolve_model(plan, GenerateKey(model="tiny", intervention="rl", probe="p"))
    folder = train_dir(plan, plan.stage("train:tiny/rl"))
    assert folder.parent == tmp_path / "out" / "e.train"
    assert folder.name == f"rl-{plan.stage('train:tiny/rl').hash[:12]}"
    assert (model.name, model.provider) == ("tiny", "hf")
    assert model.model == str(tmp_path / "out" / "e.train" / "base-smollm2")
    assert model.adapter == str(folder / "adapter")
    base = plan.model("tiny")
    assert (model.sampling, model.concurrency, model.timeout) == (base.sampling, 3, 30)
    assert not (tmp_path / "out" / "e.train").exists()  # nothing built to resolve it


def test_a_served_adapter_is_asked_by_the_intervention_s_name(tmp_path):
    plan = _plan(tmp_path, 'serve "http://127.0.0.1:8000/v1"')
    model = resolve_model(plan, GenerateKey(model="tiny", intervention="rl", probe="p"))
    assert (model.provider, model.model, model.api_base) == (
        "litellm", "openai/rl", "http://127.0.0.1:8000/v1")
    assert model.sampling == plan.model("tiny").sampling and model.concurrency == 3


def test_the_last_complete_checkpoint_is_resumed_from(tmp_path):
    root = tmp_path / "checkpoints"
    for step, complete in ((2, True), (4, True), (6, False)):
        d = root / f"checkpoint-{step}"
        d.mkdir(parents=True)
        (d / "adapter_model.safetensors").write_bytes(b"x")
        (d / "trainer_state.json").write_text("{}" if complete else '{"global_st',
                                              encoding="utf-8")
    assert last_checkpoint(tmp_path) == (root / "checkpoint-4", 4)
    assert last_checkpoint(tmp_path / "nothing") is None
