"""Batch mode in bounded memory (issue 15): a job's request file is written as the rows are
read (a later job's lines are built after the earlier job is uploaded), and result files are
read one line at a time (each result is handed over before the next is parsed)."""

from __future__ import annotations

import json
import tracemalloc

import pytest

import steerdsl
from steerdsl.llm import batches as api
from steerdsl.stages import batch_jobs
from support.fake_batches import FakeBatches
from test_generate_batch import ROWS, calls, write_spec


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(batch_jobs, "POLL_S", 0.01)


def test_request_lines_are_built_job_by_job(tmp_path, monkeypatch):
    monkeypatch.setattr(api, "MAX_REQUESTS", 5)
    uploads_seen: list[int] = []
    request_line = api.request_line

    def counting(*args, **kwargs):
        uploads_seen.append(len(server.files))
        return request_line(*args, **kwargs)

    monkeypatch.setattr(api, "request_line", counting)
    with FakeBatches() as server:
        result = steerdsl.load(write_spec(tmp_path, server.url)).run()
        assert result.status == "ok"
        assert len(server.files) >= 4 and max(server.submitted.values()) == 1
    # the 6th line (of the 2nd job) is built after the 1st job is uploaded, not before
    assert uploads_seen[:6] == [0, 0, 0, 0, 0, 0] and uploads_seen[6] == 1
    assert len(calls(tmp_path / "b.duckdb")) == ROWS


def test_results_are_handed_over_as_they_are_read(tmp_path, monkeypatch):
    events: list[str] = []
    parse_result, hand_over = api.parse_result, batch_jobs.BatchJobs._hand_over

    def parsing(line):
        events.append("parse")
        return parse_result(line)

    def handing(self, item, result):
        events.append("hand")
        return hand_over(self, item, result)

    monkeypatch.setattr(api, "parse_result", parsing)
    monkeypatch.setattr(batch_jobs.BatchJobs, "_hand_over", handing)
    with FakeBatches() as server:
        assert steerdsl.load(write_spec(tmp_path, server.url)).run().status == "ok"
    assert events.count("hand") == ROWS
    assert events[:4] == ["parse", "hand", "parse", "hand"]


def test_a_result_file_is_downloaded_in_pieces(tmp_path):
    """A job's output file (about 50 MB for 50,000 answers) goes to a temporary file as it
    arrives: the client never holds it whole."""
    line = (json.dumps({"id": "batch_req_0", "custom_id": "r0-s0", "error": None,
                        "response": {"status_code": 200, "body": {"choices": [
                            {"index": 0, "message": {"role": "assistant",
                                                     "content": "word " * 200},
                             "finish_reason": "stop"}]}}}) + "\n").encode()
    lines = (24 << 20) // len(line)
    with FakeBatches() as server:
        server.files["file-big"] = line * lines  # served from memory, without a copy
        model = steerdsl.load(write_spec(tmp_path, server.url)).plan().models[0]
        client = api.BatchClient(model, None)
        tracemalloc.start()
        try:
            results = client.results("file-big")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert sum(1 for r in results if r.body is not None) == lines
    assert peak < (24 << 20) // 2, f"{peak >> 20} MB held while downloading a 24 MB file"


def test_a_download_cut_off_halfway_is_fetched_again(tmp_path):
    """A result file arrives in pieces, so a connection lost mid-file fails while it is being
    read: the download is retried whole, and every answer is stored once."""
    with FakeBatches() as server:
        server.cut_downloads = 1
        result = steerdsl.load(write_spec(tmp_path, server.url)).run()
        assert result.status == "ok"
        assert sorted(server.downloads.values()) == [2]  # the one output file, fetched twice
        assert max(server.submitted.values()) == 1
    stored = calls(tmp_path / "b.duckdb")
    assert len(stored) == ROWS and {c[2] for c in stored} == {"ok"}
