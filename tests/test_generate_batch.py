"""Batch mode (`batch on`): the generate requests go as provider batch jobs through litellm's
files and batches API, against a loopback OpenAI-format batch server (real HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

import steerdsl
from steerdsl.llm.batches import split_jobs
from steerdsl.stages import batch_jobs
from steerdsl.store.db import open_store
from support.batch_specs import kill_9_while_polling, rerun
from support.crash import stored_rows
from support.fake_batches import FakeBatches
from support.note_specs import notes_spec

ROWS = 16  # 4 sources x 4 requests


def write_spec(folder: Path, url: str, store: str = "b.duckdb", batch: bool = True,
               budget: str = "", price: str = "") -> Path:
    return notes_spec(
        folder, f"{store}.steer", experiment="b", store=store, url=url, sources=4, requests=4,
        budget=budget, probe=("delta -0.7..0.7 deadzone 0.1",),
        model=("retries 1", *(["batch on"] if batch else []),
               *([f"price {price}"] if price else [])),
        interventions={"direct": "prompt direct negative"}, evaluate="direct")


def calls(store: Path) -> list[tuple]:
    return stored_rows(store, "SELECT row_id, sample, status, error_kind, answer, cost "
                              "FROM calls ORDER BY row_id, sample")


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(batch_jobs, "POLL_S", 0.01)


def test_batch_run_answers_every_request_once(tmp_path):
    with FakeBatches() as server:
        spec = write_spec(tmp_path, server.url)
        result = steerdsl.load(spec).run()
        assert result.status == "ok", result
        rows = calls(tmp_path / "b.duckdb")
        assert len(rows) == ROWS and {r[2] for r in rows} == {"ok"}
        assert all(r[4].startswith("answer 0: ") for r in rows)
        assert len(server.batches) == 1 and sorted(server.submitted.values()) == [1] * ROWS
        con = open_store(tmp_path / "b.duckdb")
        jobs = con.execute("SELECT status, requests, job_id IS NOT NULL, finished_at IS NOT NULL"
                           " FROM batch_jobs").fetchall()
        con.close()
        assert jobs == [("completed", ROWS, True, True)]
        # Done: a rerun asks the provider nothing.
        before = server.retrieves
        assert steerdsl.load(spec).run().status == "ok"
        assert server.retrieves == before and len(server.batches) == 1


def test_failed_and_expired_requests_are_errors_and_retried_alone(tmp_path):
    with FakeBatches(fail=("Note 1.",), expire=("Note 2.",)) as server:
        spec = write_spec(tmp_path, server.url)
        result = steerdsl.load(spec).run()
        assert result.status == "incomplete" and result.failed_calls == 8
        rows = calls(tmp_path / "b.duckdb")
        kinds = sorted({r[3] for r in rows if r[2] == "error"})
        assert kinds == ["expired", "server"] and sum(r[2] == "ok" for r in rows) == 8
        server.fail, server.expire = (), ()
        result = steerdsl.load(spec).run(retry_errors=True)
        assert result.status == "ok"
        assert len(server.batches) == 2
        second = server.batches[max(server.batches)]["request_counts"]["total"]
        assert second == 8  # only the failed ones, under new custom ids
        assert max(server.submitted.values()) == 1
        rows = calls(tmp_path / "b.duckdb")
        assert len(rows) == ROWS and {r[2] for r in rows} == {"ok"}


def test_no_wait_returns_after_submitting_and_a_later_run_collects(tmp_path):
    with FakeBatches(hold=True) as server:
        spec = write_spec(tmp_path, server.url)
        result = steerdsl.load(spec).run(wait=False)
        assert result.status == "incomplete" and result.batch_jobs_open == 1
        assert calls(tmp_path / "b.duckdb") == []
        server.release()
        result = steerdsl.load(spec).run()
        assert result.status == "ok"
        assert len(server.batches) == 1 and sorted(server.submitted.values()) == [1] * ROWS
        assert len(calls(tmp_path / "b.duckdb")) == ROWS


def test_batch_cost_is_half_the_table_price_and_declared_prices_win(tmp_path):
    from steerdsl.llm.batches import batch_cost
    from steerdsl.plan.model import ModelPlan, Price

    table = ModelPlan(name="m", provider="litellm", model="openai/gpt-4o-mini")
    full = 1000 * 0.15e-6 + 1000 * 0.6e-6
    assert batch_cost(table, "gpt-4o-mini", 1000, 1000) == pytest.approx(full / 2)
    declared = table.model_copy(update={"price": Price(input_per_mtok=1, output_per_mtok=2)})
    assert batch_cost(declared, "gpt-4o-mini", 10**6, 10**6) == pytest.approx(3.0)


def test_budget_is_checked_before_submitting(tmp_path):
    with FakeBatches() as server:
        spec = write_spec(tmp_path, server.url, budget="0.000001", price="in 100 out 100")
        result = steerdsl.load(spec).run()
        assert result.status == "budget" and "not submitted" in result.budget_message
        assert server.files == {} and server.batches == {}


def test_batch_on_changes_no_hash(tmp_path):
    on = steerdsl.load(write_spec(tmp_path, "http://127.0.0.1:9/v1", "on.duckdb")).plan()
    off = steerdsl.load(write_spec(tmp_path, "http://127.0.0.1:9/v1", "on.duckdb",
                                   batch=False)).plan()
    assert [s.hash for s in on.stages] == [s.hash for s in off.stages]
    assert on.model("fake").batch and "batch" not in off.model("fake").model_dump()


def test_jobs_are_split_within_the_provider_limits():
    lines = [b"x" * 10] * 7
    assert split_jobs(lines, max_requests=3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert split_jobs(lines, max_bytes=25) == [[0, 1], [2, 3], [4, 5], [6]]


def test_kill_9_while_a_batch_is_in_progress_then_resume(tmp_path):
    with FakeBatches(hold=True) as server:
        spec = write_spec(tmp_path, server.url)
        kill_9_while_polling(spec, server)
        assert len(server.batches) == 1
        server.release()
        rerun(spec)
        # The rerun polled the same job: nothing submitted twice, every answer stored once.
        assert len(server.batches) == 1 and sorted(server.submitted.values()) == [1] * ROWS
        rows = calls(tmp_path / "b.duckdb")
        assert len(rows) == ROWS and len({(r[0], r[1]) for r in rows}) == ROWS
        assert {r[2] for r in rows} == {"ok"}


def test_compile_shows_the_requests_that_go_by_batch(tmp_path, capsys):
    from steerdsl.cli import main

    spec = write_spec(tmp_path, "http://127.0.0.1:9/v1")
    assert main(["compile", str(spec)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "generate:" in x)
    assert f"by batch {ROWS}" in line and f"requests {ROWS}" in line


def test_batch_on_is_for_litellm_models_only(tmp_path, capsys):
    from steerdsl.cli import main

    spec = write_spec(tmp_path, "http://127.0.0.1:9/v1")
    spec.write_text(spec.read_text().replace('litellm "openai/fake"\n  api_base '
                                             '"http://127.0.0.1:9/v1"', 'local "smollm2"'))
    assert main(["check", str(spec)]) == 2
    assert "only a litellm model has them, not local" in capsys.readouterr().err


@pytest.mark.parametrize("left", [
    # As if killed right after the provider accepted the batch, before its id was stored:
    # the batch is adopted, not created again.
    "UPDATE batch_jobs SET job_id = NULL, status = 'uploaded'",
    # As a store of the first batch version left its jobs: no kind, no item.
    "UPDATE batch_jobs SET kind = NULL; UPDATE batch_requests SET item = NULL"])
def test_open_jobs_left_in_the_store_are_resumed_never_resubmitted(tmp_path, left):
    with FakeBatches(hold=True) as server:
        spec = write_spec(tmp_path, server.url)
        assert steerdsl.load(spec).run(wait=False).status == "incomplete"
        con = open_store(tmp_path / "b.duckdb")
        con.execute(left)
        con.close()
        server.release()
        assert steerdsl.load(spec).run().status == "ok"
        assert len(server.batches) == 1 and sorted(server.submitted.values()) == [1] * ROWS
        assert len(calls(tmp_path / "b.duckdb")) == ROWS


def test_cli_no_wait_says_a_later_run_collects(tmp_path, capsys):
    from steerdsl.cli import main

    with FakeBatches(hold=True) as server:
        spec = write_spec(tmp_path, server.url)
        assert main(["run", str(spec), "--no-wait"]) == 1
        err = capsys.readouterr().err
        assert "1 batch job submitted and not finished yet" in err
        assert "run incomplete: 1 batch job still at the provider" in err
        server.release()
        assert main(["run", str(spec)]) == 0
        assert "batch jobs: 1 submitted, 0 in progress, 1 completed" in capsys.readouterr().err \
            or len(calls(tmp_path / "b.duckdb")) == ROWS
