"""End to end with the real built-in local model (SmolLM2-135M through llama-cpp-python, via
litellm's custom-provider path). Select with `-m local_model`; it runs in CI (small: 3 prompts,
64 tokens)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time

import pytest

from steerdsl.errors import RunError
from steerdsl.llm import completion as llm
from steerdsl.llm.local import model_path
from steerdsl.stages.generate.engine import run_generate
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


def test_local_model_reports_answers_cut_off_at_max_tokens():
    prompt = "Please rewrite the following, but make it longer.\n\nThe meeting is on Monday."

    async def both():
        cut = await llm.complete(TINY, prompt, 2, {"temperature": 0, "max_tokens": 3}, None)
        whole = await llm.complete(TINY, "What is 2+2? Answer with a number only.", 1,
                                   {"temperature": 0, "max_tokens": 64}, None)
        return cut, whole

    cut, whole = asyncio.run(both())
    assert cut.finish_reasons == ["length", "length"] and cut.completion_tokens == 6
    assert whole.finish_reasons == ["stop"]


def test_unknown_local_model_is_a_clear_error():
    with pytest.raises(RunError, match="unknown local model 'nope'"):
        model_path("nope")
    assert model_path("smollm2").name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_missing_model_package_says_run_setup(monkeypatch):
    from steerdsl import catalog

    monkeypatch.setitem(catalog.LOCAL_MODELS, "ghost", ("llm-ghost-model", "ghost.gguf"))
    with pytest.raises(RunError, match="needs the package llm-ghost-model: run scripts/setup"):
        model_path("ghost")


def test_stop_generating_stops_requests_made_before_it_only():
    from steerdsl.llm import local

    local.ensure_registered("smollm2")
    provider = local._provider
    messages = [{"role": "user", "content": "Say hello."}]
    params = {"temperature": 0, "max_tokens": 8, "seed": 1}
    queued = provider.ticket()  # made, not yet started (waiting for a thread or the model)
    local.stop_generating()
    with pytest.raises(local.GenerationStopped):
        provider.generate("smollm2", messages, params, queued)
    contents, reasons, prompt_tokens, completion_tokens = provider.generate(
        "smollm2", messages, params, provider.ticket())
    assert contents[0] and prompt_tokens > 0 and 0 < completion_tokens <= 8
    assert reasons[0] in ("stop", "length")


INTERRUPT_SPEC = """
experiment interrupted {{
  seed 3
  store "run.duckdb"
}}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  length = char_count normalize 0..400
}}
probe p from c {{
  sources 6 unweighted
  requests 4 per source
  active 1
  delta -0.7..0.7 deadzone 0.1
}}
model tiny {{
  local "smollm2"
  temperature 0.8
  max_tokens {max_tokens}
  concurrency 2
}}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models tiny  interventions direct }}
"""
STOP_WITHIN_S = 5  # generation stops within a token; the rest is interpreter teardown


def test_ctrl_c_stops_the_local_model_at_once_and_keeps_its_answers(tmp_path):
    with open(tmp_path / "corpus.jsonl", "w") as f:
        for i in range(6):
            f.write(json.dumps({"text": f"Note {i}. The committee met on a rainy Tuesday "
                                        "to talk about the new library budget."}) + "\n")
    # Long answers: each takes seconds, and a second one waits for the model meanwhile.
    spec = tmp_path / "interrupted.steer"
    spec.write_text(INTERRUPT_SPEC.format(max_tokens=400))
    proc = subprocess.Popen([sys.executable, "-m", "steerdsl.cli", "run", str(spec)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    # Without a terminal, progress is a line every 5 s: wait for answers to be reported.
    done = 0
    for line in proc.stderr:
        m = re.match(r"\s+generate tiny/direct: (\d+)/24", line)
        if m and int(m.group(1)) > 0:
            done = int(m.group(1))
            break
    assert done > 0, proc.communicate()
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=120)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert "interrupted; rerun the same command to continue where it stopped" in err
    assert took < STOP_WITHIN_S, f"took {took:.1f}s to stop"
    con = open_store(tmp_path / "run.duckdb")
    try:
        stored = con.execute("SELECT status, answer, completion_tokens FROM calls").fetchall()
        status = con.execute("SELECT status FROM runs").fetchone()[0]
    finally:
        con.close()
    # Every answer reported done is stored; the generation cut short left no row.
    assert len(stored) >= done and {s for s, _, _ in stored} == {"ok"}
    assert all(a and 0 < tokens <= 400 for _, a, tokens in stored)
    assert status == "interrupted"
