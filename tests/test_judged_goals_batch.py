"""Batch mode of judged goals: the texts a `batch on` judge model scores go as provider batch
jobs (the code the generate and judge stages share), against the loopback OpenAI-format files +
batches server (real HTTP, real DuckDB files). The values land in the measurement cache and
their costs in judge_calls; --no-wait leaves them pending (not cached, run incomplete)."""

from __future__ import annotations

from pathlib import Path

import pytest

import steerdsl
from steerdsl.stages import batch_jobs
from support import batch_specs
from support.batch_specs import RUBRIC, kill_9_while_polling, rerun
from support.fake_batches import FakeBatches
from support.fake_openai import FakeOpenAI
from support.stores import read_rows

TEXTS = 6  # corpus texts; the probe draws 3, one answer each (3 more texts to judge)

MODELS = """model writer {{ litellm "openai/writer"  api_base "{writer}" }}
model referee {{ litellm "openai/referee"  api_base "{batches}"  retries 1  price in 1 out 2
  batch on }}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models writer  interventions direct }}
"""


def score(prompt: str, index: int) -> str:
    return "5" if "Note 1" in prompt else "7"


def write_spec(folder: Path, writer: str, batches: str) -> Path:
    return batch_specs.write_spec(folder, "jg", MODELS.format(writer=writer, batches=batches),
                                  texts=TEXTS, sources=3, judged_by="referee")


def polite(folder: Path) -> list[tuple]:
    return read_rows(folder / "jg.duckdb",
                     "SELECT m.raw, m.error IS NOT NULL FROM measurements m JOIN measures d "
                     "USING (measure_id) WHERE d.definition LIKE '%judge%' ORDER BY m.text_hash")


def jobs(folder: Path) -> list[tuple]:
    return read_rows(folder / "jg.duckdb", "SELECT kind, requests, finished_at IS NOT NULL "
                                           "FROM batch_jobs ORDER BY submitted_at")


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(batch_jobs, "POLL_S", 0.01)


def test_judged_goals_by_batch_end_to_end(tmp_path):
    with FakeOpenAI() as writer, FakeBatches(answer=score) as server:
        spec = write_spec(tmp_path, writer.url, server.url)
        result = steerdsl.load(spec).run()
        assert result.status == "ok", result
        values = polite(tmp_path)
        assert len(values) == TEXTS + 3 and {v[1] for v in values} == {False}
        assert 5.0 in {v[0] for v in values}  # Note 1 (scored 5 by the fake judge)
        # The corpus's texts in one job (measure stage), the answers in another (score).
        assert jobs(tmp_path) == [("goal", TEXTS, True), ("goal", 3, True)]
        assert max(server.submitted.values()) == 1 and writer.count(RUBRIC) == 0
        calls = read_rows(tmp_path / "jg.duckdb", "SELECT count(*), min(cost) > 0, "
                          "count(latency_s) FROM judge_calls")
        assert calls == [(TEXTS + 3, True, 0)]  # costs at the batch price; no latency
        before = server.retrieves
        assert steerdsl.load(spec).run().status == "ok"
        assert server.retrieves == before and len(server.batches) == 2


def test_no_wait_leaves_values_pending_and_uncached_then_a_later_run_collects(tmp_path):
    from steerdsl.cli import main

    with FakeOpenAI() as writer, FakeBatches(answer=score, hold=True) as server:
        spec = write_spec(tmp_path, writer.url, server.url)
        result = steerdsl.load(spec).run(wait=False)
        assert result.status == "incomplete" and result.batch_jobs_open == 1
        assert polite(tmp_path) == [] and writer.count() == 0  # stopped in the measure stage
        assert main(["run", str(spec), "--no-wait", "-q"]) == 1  # polled, still in progress
        assert len(server.batches) == 1
        server.release()
        assert steerdsl.load(spec).run().status == "ok"
        assert len(polite(tmp_path)) == TEXTS + 3 and max(server.submitted.values()) == 1


def test_failed_and_expired_values_are_cached_errors_resent_with_retry_errors(tmp_path):
    with FakeOpenAI() as writer, \
            FakeBatches(answer=score, fail=("Note 2.",), expire=("Note 3.",)) as server:
        spec = write_spec(tmp_path, writer.url, server.url)
        steerdsl.load(spec).run()
        errors = read_rows(tmp_path / "jg.duckdb", "SELECT error FROM measurements "
                           "WHERE error IS NOT NULL ORDER BY error")
        assert len(errors) >= 2 and any("expired" in e for (e,) in errors) \
            and any("status 500" in e for (e,) in errors)
        sent = len(server.submitted)
        steerdsl.load(spec).run()
        assert len(server.submitted) == sent  # kept as errors: nothing sent again
        server.fail, server.expire = (), ()
        assert steerdsl.load(spec).run(retry_errors=True).status == "ok"
        assert max(server.submitted.values()) == 1 and len(server.submitted) > sent
        assert {v[1] for v in polite(tmp_path)} == {False}


def test_kill_9_while_a_goal_batch_is_in_progress_then_resume(tmp_path):
    with FakeOpenAI() as writer, FakeBatches(answer=score, hold=True) as server:
        spec = write_spec(tmp_path, writer.url, server.url)
        kill_9_while_polling(spec, server)
        server.release()
        rerun(spec)
        assert len(server.batches) == 2 and max(server.submitted.values()) == 1
        assert len(polite(tmp_path)) == TEXTS + 3
        assert read_rows(tmp_path / "jg.duckdb", "SELECT count(*) FROM judge_calls") == \
            [(TEXTS + 3,)]
