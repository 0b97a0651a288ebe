"""End to end with the real built-in local model (SmolLM2-135M through llama-cpp-python, via
litellm's custom-provider path). Select with `-m local_model`; it runs in CI (small: 3 prompts,
64 tokens)."""

from __future__ import annotations

import asyncio

import pytest

from steerdsl.errors import RunError
from steerdsl.generate import llm
from steerdsl.generate.local import model_path
from steerdsl.generate.stage import run_generate
from steerdsl.plan.model import ModelPlan, SamplingParams
from steerdsl.store.db import open_store
from support.gen_plans import intervention, make_plan, make_rows

pytestmark = pytest.mark.local_model

TINY = ModelPlan(name="tiny", provider="local", model="smollm2",
                 sampling=SamplingParams(temperature=0, max_tokens=64), concurrency=2)


def test_local_model_answers_through_the_stage(tmp_path):
    con = open_store(tmp_path / "local.duckdb")
    plan = make_plan([TINY], [intervention()])
    stage = plan.stage("generate:tiny/direct")
    rows = make_rows(3)
    stats = run_generate(con, plan, stage, rows)
    assert (stats.ok, stats.errors, stats.requests) == (3, 0, 3)
    got = con.execute("SELECT row_id, status, answer, raw_answer, prompt_tokens, "
                      "completion_tokens, cost FROM calls ORDER BY row_id").fetchall()
    assert [g[0] for g in got] == [0, 1, 2]
    for _, status, answer, raw, pt, ct, cost in got:
        assert status == "ok" and answer and raw
        assert pt > 20 and 0 < ct <= 64 and cost == 0.0
    # Resumable like any model: nothing is generated again.
    assert run_generate(con, plan, stage, rows).requests == 0
    con.close()


def test_local_model_is_deterministic_at_temperature_0():
    params = {"temperature": 0, "max_tokens": 12, "seed": 5}
    prompt = "Please rewrite the following, but make it shorter.\n\nThe meeting is on Monday."

    async def twice():
        a = await llm.complete(TINY, prompt, 1, params, None)
        b = await llm.complete(TINY, prompt, 1, params, None)
        return a.contents, b.contents

    a, b = asyncio.run(twice())
    assert a == b and a[0]


def test_unknown_local_model_is_a_clear_error():
    with pytest.raises(RunError, match="unknown local model 'nope'"):
        model_path("nope")
    assert model_path("smollm2").name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_missing_model_package_says_run_setup(monkeypatch):
    from steerdsl import catalog

    monkeypatch.setitem(catalog.LOCAL_MODELS, "ghost", ("llm-ghost-model", "ghost.gguf"))
    with pytest.raises(RunError, match="needs the package llm-ghost-model: run scripts/setup"):
        model_path("ghost")
