"""The prompts a `batch on` generate stage stores in `calls`: rendered when its results are
written (the probe rows read by id, a batch of results at a time), equal to the one-by-one
path's, across several jobs, writes and resends."""

from __future__ import annotations

import pytest

import steerdsl
from steerdsl.llm import batches as api
from steerdsl.stages import batch_jobs
from steerdsl.stages.generate import batch
from steerdsl.store.calls import CallRecord, CallWriter, StoredSamples, sample_statuses
from steerdsl.store.db import open_store
from support.fake_batches import FakeBatches
from support.fake_openai import FakeOpenAI
from test_generate_batch import ROWS, write_spec


@pytest.fixture(autouse=True)
def small_jobs_and_writes(monkeypatch):
    monkeypatch.setattr(batch_jobs, "POLL_S", 0.01)
    monkeypatch.setattr(api, "MAX_REQUESTS", 5)  # 4 jobs of the 16 requests
    monkeypatch.setattr(batch, "WRITE_ROWS", 3)  # results written 3 at a time


def prompts(store) -> list[tuple[int, int, str]]:
    con = open_store(store)
    try:
        return con.execute("SELECT row_id, sample, prompt FROM calls "
                           "ORDER BY row_id, sample").fetchall()
    finally:
        con.close()


def test_batch_prompts_equal_the_one_by_one_prompts(tmp_path):
    with FakeOpenAI() as server:
        spec = write_spec(tmp_path, server.url, "one.duckdb", batch=False)
        assert steerdsl.load(spec).run().status == "ok"
    with FakeBatches(fail=("Note 1.",)) as server:
        spec = write_spec(tmp_path, server.url, "batch.duckdb")
        assert steerdsl.load(spec).run().status == "incomplete"
        assert len(server.batches) == 4
        server.fail = ()
        assert steerdsl.load(spec).run(retry_errors=True).status == "ok"  # resent: replaced
    one, by_batch = prompts(tmp_path / "one.duckdb"), prompts(tmp_path / "batch.duckdb")
    assert len(one) == ROWS and all(p for _, _, p in one)
    assert by_batch == one


def test_a_writer_given_the_stored_samples_replaces_them_and_what_it_wrote(tmp_path):
    con = open_store(tmp_path / "s.duckdb")
    writer = CallWriter(con, "g")
    writer.add(CallRecord(row_id=0, sample=0, prompt="p0", status="error", error="x"))
    writer.add(CallRecord(row_id=1, sample=0, prompt="p1", status="ok", answer="a"))
    writer.flush()
    writer = CallWriter(con, "g", stored=StoredSamples(sample_statuses(con, "g", 1), 3))
    writer.add(CallRecord(row_id=0, sample=0, prompt="p0", status="ok", answer="b"))
    writer.add(CallRecord(row_id=2, sample=0, prompt="p2", status="ok", answer="c"))
    writer.flush()
    writer.add(CallRecord(row_id=2, sample=0, prompt="p2", status="ok", answer="d"))
    writer.flush()
    got = con.execute("SELECT row_id, status, answer FROM calls ORDER BY row_id").fetchall()
    con.close()
    assert got == [(0, "ok", "b"), (1, "ok", "a"), (2, "ok", "d")]


def test_many_replaced_rows_are_deleted_by_one_statement(tmp_path):
    con = open_store(tmp_path / "s.duckdb")
    writer = CallWriter(con, "g")
    for i in range(50):
        writer.add(CallRecord(row_id=i, sample=0, prompt="p", status="error", error="x"))
    writer.flush()
    writer = CallWriter(con, "g", stored={(i, 0) for i in range(50)})
    for i in range(50):
        writer.add(CallRecord(row_id=i, sample=0, prompt="p", status="ok", answer=f"a{i}"))
    writer.flush()
    got = con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'ok') "
                      "FROM calls").fetchone()
    con.close()
    assert got == (50, 50) and writer.stored == set()


def test_a_job_collected_again_after_a_kill_during_its_collection_replaces_its_rows(tmp_path):
    store = tmp_path / "b.duckdb"
    with FakeBatches() as server:
        spec = write_spec(tmp_path, server.url)
        assert steerdsl.load(spec).run().status == "ok"
        before = prompts(store)
        # As a kill after some of the first job's results were written, before it was marked
        # finished: its results are stored and it is still open.
        con = open_store(store)
        con.execute("UPDATE batch_jobs SET finished_at = NULL WHERE file_id = "
                    "(SELECT min(file_id) FROM batch_jobs)")
        con.execute("DELETE FROM stages_done WHERE stage LIKE 'generate:%'")
        con.close()
        jobs = len(server.batches)
        assert steerdsl.load(spec).run().status == "ok"
        assert len(server.batches) == jobs  # nothing submitted again
    assert prompts(store) == before
