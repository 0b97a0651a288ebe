"""Fine-tuning end to end through `steerdsl run`: a tiny random Llama trained 3 GRPO steps on
CPU, its training log and adapter kept, the tuned model answering and scored like any
intervention, and a second run training nothing."""

from __future__ import annotations

import pytest

import steerdsl
from support.fake_openai import FakeOpenAI
from support.stores import read_rows
from support.train_specs import run, training_rows, write_experiment

pytestmark = pytest.mark.train


def test_a_finetune_trains_answers_and_is_scored(tmp_path, tiny_llama):
    pytest.importorskip("trl")
    spec = write_experiment(tmp_path, tiny_llama, steps=3)
    plan = steerdsl.load(spec).plan()
    train = plan.stage("train:base/rl")
    run(spec)

    # Every step logged: loss, KL, the total reward and each reward's mean and spread.
    db = tmp_path / "run.duckdb"
    logged = read_rows(db, "SELECT step, name, value FROM training WHERE model = 'base' "
                           "AND intervention = 'rl' ORDER BY step, name")
    names = {}
    for step, name, value in logged:
        names.setdefault(step, set()).add(name)
        assert value == value  # never NaN
    assert sorted(names) == [1, 2, 3]
    for step_names in names.values():
        assert {"loss", "kl", "reward", "reward_std", "rewards/steering_error/mean",
                "rewards/steering_error/std", "rewards/error_length/mean",
                "rewards/error_length/std"} <= step_names
    assert len({r[3] for r in training_rows(spec)}) == 1  # one run trained every step

    # The adapter, beside the store, recorded in the store.
    adapter = tmp_path / "run.train" / f"rl-{train.hash[:12]}" / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    assert read_rows(db, "SELECT model, intervention, path, steps FROM adapters "
                         f"WHERE train_hash = '{train.hash}'") == [
        ("base", "rl", str(adapter), 3)]

    # The tuned model answered every request of the evaluated probe, scored like any other.
    scored = read_rows(db, "SELECT intervention, count(*), count(steering_error_raw) "
                           "FROM metrics GROUP BY ALL ORDER BY 1")
    assert scored == [("direct", 3, 3), ("rl", 3, 3)]
    generated = plan.stage("generate:base/rl").hash
    assert read_rows(db, "SELECT status, count(*), sum(cost) FROM calls "
                         f"WHERE gen_hash = '{generated}' GROUP BY ALL") == [("ok", 3, 0.0)]

    # The same spec again: nothing is trained (or asked) twice.
    before = training_rows(spec)
    mtime = (adapter / "adapter_model.safetensors").stat().st_mtime_ns
    again = run(spec)
    assert "0 stages run" in again.stderr
    assert training_rows(spec) == before
    assert (adapter / "adapter_model.safetensors").stat().st_mtime_ns == mtime

    # Served by an OpenAI-compatible server (vLLM with the adapter under the intervention's
    # name): the adapter is not trained again, the tuned answers come from the server.
    with FakeOpenAI() as server:
        spec.write_text(spec.read_text(encoding="utf-8").replace(
            "  save_every", f'  serve "{server.url}"\n  save_every'), encoding="utf-8")
        served = run(spec)
        assert "resuming" not in served.stderr
        assert training_rows(spec) == before
        assert (adapter / "adapter_model.safetensors").stat().st_mtime_ns == mtime
        asked = server.requests()
        assert len(asked) == 3 and {r.body["model"] for r in asked} == {"rl"}
    served_plan = steerdsl.load(spec).plan()
    assert served_plan.stage("train:base/rl").hash == train.hash
    assert read_rows(db, "SELECT intervention, count(*) FROM metrics GROUP BY ALL "
                         "ORDER BY 1") == [("direct", 3), ("rl", 3)]
