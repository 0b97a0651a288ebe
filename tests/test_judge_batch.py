"""Batch mode of the judge stage: a `batch on` judge model's groundedness questions go as
provider batch jobs, through the same code as generation (steerdsl.stages.batch_jobs), against
the loopback OpenAI-format files + batches server (real HTTP, real DuckDB files)."""

from __future__ import annotations

from pathlib import Path

import pytest

import steerdsl
from steerdsl.stages import batch_jobs
from support import batch_specs
from support.batch_specs import JUDGE, MARK, kill_9_while_polling, rerun
from support.fake_batches import FakeBatches
from support.fake_openai import default_answer
from support.stores import read_rows

ROWS = 4  # probe rows, one answer each: one question each (order random)
YES = '{"answer": "Yes", "rationale": "Both are about the committee."}'

MODELS = """model writer {{ litellm "openai/writer"  api_base "{url}"  retries 1  batch on }}
model referee {{ litellm "openai/referee"  api_base "{url}"  retries 1{price}  batch on }}
evaluate {{ probe p  models writer  interventions direct  grounding meaning }}
intervention direct {{ prompt direct }}
"""


def answer(prompt: str, index: int) -> str:
    """A verdict for judge prompts, a rewrite for the others."""
    return YES if MARK in prompt else default_answer(prompt, index)


def write_spec(folder: Path, url: str, budget: str = "", judge_price: str = "") -> Path:
    body = MODELS.format(url=url, price=f"  price {judge_price}" if judge_price else "")
    return batch_specs.write_spec(folder, "jb", body + JUDGE.format(model="referee"),
                                  budget=budget)


def verdicts(folder: Path) -> list[tuple]:
    return read_rows(folder / "jb.duckdb", "SELECT status, verdict, error_kind, cost "
                                           "FROM verdicts ORDER BY source_hash")


def jobs(folder: Path) -> list[tuple]:
    return read_rows(folder / "jb.duckdb", "SELECT kind, requests, finished_at IS NOT NULL "
                                           "FROM batch_jobs ORDER BY kind, submitted_at")


def judge_ids(server: FakeBatches) -> list[str]:
    """Custom ids of the judge's requests (generate requests are r{row}-s{sample})."""
    return [c for c in server.submitted if c.startswith("v")]


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(batch_jobs, "POLL_S", 0.01)


def test_judge_stage_by_batch_end_to_end(tmp_path):
    with FakeBatches(answer=answer) as server:
        spec = write_spec(tmp_path, server.url)
        result = steerdsl.load(spec).run()
        assert result.status == "ok", result
        assert "judge:writer/direct" in result.stages_run
        assert verdicts(tmp_path) == [("ok", "yes", None, None)] * ROWS
        # One generate job, then one judge job: each request submitted once, kept apart.
        assert jobs(tmp_path) == [("generate", ROWS, True), ("judge", ROWS, True)]
        assert len(judge_ids(server)) == ROWS and max(server.submitted.values()) == 1
        before = server.retrieves
        assert steerdsl.load(spec).run().status == "ok"
        assert server.retrieves == before and len(server.batches) == 2


def test_failed_and_expired_verdicts_are_errors_and_resent_with_retry_errors(tmp_path):
    # The strings are in the judge prompts only (they quote the answers "answer 0: Note 1.")
    with FakeBatches(answer=answer, fail=("answer 0: Note 1.",),
                     expire=("answer 0: Note 2.",)) as server:
        spec = write_spec(tmp_path, server.url)
        result = steerdsl.load(spec).run()
        assert result.status == "incomplete" and result.failed_calls == 2
        got = verdicts(tmp_path)
        assert sorted(g[2] for g in got if g[0] == "error") == ["expired", "server"]
        # Without --retry-errors nothing is sent again; with it, only the two failed ones.
        assert steerdsl.load(spec).run().status == "incomplete"
        assert len(server.batches) == 2
        server.fail, server.expire = (), ()
        assert steerdsl.load(spec).run(retry_errors=True).status == "ok"
        assert len(server.batches) == 3
        assert server.batches[max(server.batches)]["request_counts"]["total"] == 2
        assert max(server.submitted.values()) == 1  # resent under new custom ids
        assert verdicts(tmp_path) == [("ok", "yes", None, None)] * ROWS


def test_no_wait_leaves_the_judge_jobs_and_a_later_run_collects(tmp_path):
    with FakeBatches(answer=answer) as server:
        spec = write_spec(tmp_path, server.url)
        assert steerdsl.load(spec).run(until="score").status == "ok"
        server.hold = True
        result = steerdsl.load(spec).run(wait=False)
        assert result.status == "incomplete" and result.batch_jobs_open == 1
        assert verdicts(tmp_path) == []
        server.release()
        assert steerdsl.load(spec).run().status == "ok"
        assert len(judge_ids(server)) == ROWS and max(server.submitted.values()) == 1
        assert len(verdicts(tmp_path)) == ROWS


def test_judge_batch_cost_and_budget_before_submitting(tmp_path):
    with FakeBatches(answer=answer) as server:
        spec = write_spec(tmp_path, server.url, judge_price="in 1 out 2")
        assert steerdsl.load(spec).run().status == "ok"
        costs = [v[3] for v in verdicts(tmp_path)]
        prompt_tokens = read_rows(tmp_path / "jb.duckdb", "SELECT prompt_tokens, "
                                  "completion_tokens FROM verdicts ORDER BY source_hash")
        # a declared price is the batch price
        assert costs == [pytest.approx((p * 1 + c * 2) / 1e6) for p, c in prompt_tokens]
    with FakeBatches(answer=answer) as server:
        folder = tmp_path / "budget"
        folder.mkdir()
        spec = write_spec(folder, server.url, budget="0.000001", judge_price="in 100 out 100")
        result = steerdsl.load(spec).run()
        assert result.status == "budget" and "not submitted" in result.budget_message
        assert judge_ids(server) == [] and verdicts(folder) == []


def test_kill_9_while_a_judge_batch_is_in_progress_then_resume(tmp_path):
    with FakeBatches(answer=answer) as server:
        spec = write_spec(tmp_path, server.url)
        assert steerdsl.load(spec).run(until="score").status == "ok"
        server.hold = True
        kill_9_while_polling(spec, server)
        assert len(server.batches) == 2
        server.release()
        rerun(spec)
        # The rerun polled the same job: nothing submitted twice, every verdict stored once.
        assert len(server.batches) == 2 and len(judge_ids(server)) == ROWS
        assert max(server.submitted.values()) == 1
        assert verdicts(tmp_path) == [("ok", "yes", None, None)] * ROWS


def test_compile_shows_the_judge_requests_that_go_by_batch(tmp_path, capsys):
    from steerdsl.cli import main

    spec = write_spec(tmp_path, "http://127.0.0.1:9/v1")
    assert main(["compile", str(spec)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "judge:" in x)
    assert f"verdicts {ROWS}, by batch {ROWS}" in line  # one request per verdict
