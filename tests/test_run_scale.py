"""100k probe rows end to end (issue 15): every stage streams in chunks, so a probe of any size
runs; the store holds every row, answer and value. Peak memory is benchmarks/scale.py's job, not
a timed test's.

The generate stage goes through provider batch mode against the loopback files + batches
server: 100k requests one by one through litellm would take several minutes on two cores,
batch jobs take seconds (a declared price: litellm's price table takes a millisecond a
request). Answers repeat the source text ("answer 0: <source>"), so scoring
measures each distinct answer once and reads the rest from the measurement cache."""

from __future__ import annotations

import duckdb
import pytest

import steerdsl
from steerdsl.stages import batch_jobs
from support.fake_batches import FakeBatches
from support.scale import GOALS, make_corpus, write_spec

SOURCES, REQUESTS = 500, 200
ROWS = SOURCES * REQUESTS


@pytest.mark.slow
def test_100k_probe_rows_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_jobs, "POLL_S", 0.05)
    monkeypatch.setenv("STEERDSL_SCALE_KEY", "sk-none")
    make_corpus(tmp_path / "corpus.jsonl", 600)
    with FakeBatches() as server:
        spec = write_spec(tmp_path / "scale.steer", store=tmp_path / "scale.duckdb",
                          corpus=tmp_path / "corpus.jsonl", url=server.url, sources=SOURCES,
                          requests=REQUESTS, key="STEERDSL_SCALE_KEY", weighted=False,
                          batch=True, price="in 0.1 out 0.4")
        result = steerdsl.load(spec).run()
        assert result.status == "ok", result
        assert max(server.submitted.values()) == 1 and len(server.submitted) == ROWS

    con = duckdb.connect(str(tmp_path / "scale.duckdb"), read_only=True)
    try:
        def one(sql: str):
            return con.execute(sql).fetchall()

        assert one("SELECT count(*), count(DISTINCT text_hash) FROM probe_rows") == [
            (ROWS, SOURCES)]
        assert one("SELECT count(*) FROM probe_goals") == [(ROWS * len(GOALS),)]
        assert one("SELECT status, count(*) FROM calls GROUP BY ALL") == [("ok", ROWS)]
        assert one("SELECT goal, count(*), count(raw), count(value) FROM outputs "
                   "GROUP BY ALL ORDER BY goal") == [(g, ROWS, ROWS, ROWS) for g in sorted(GOALS)]
        assert one("SELECT count(*) FROM metrics") == [(ROWS,)]
        assert one("SELECT model, intervention, count(*) FROM summary GROUP BY ALL") == [
            ("fake", "direct", len(GOALS) + 3)]
        assert {s for (s,) in one("SELECT stage FROM stages_done")} == {
            "corpus:seeds", "measure:seeds", "space", "probe:p", "generate:fake/direct",
            "score:fake/direct"}
    finally:
        con.close()


def test_chunk_sizes_change_nothing_stored(tmp_path, monkeypatch):
    """The same spec run with chunks of a few rows (probe writes, probe reads for requests,
    texts measured, answers scored) stores exactly what one chunk stores."""
    from support.fake_openai import FakeOpenAI

    from steerdsl.stages import context, score
    from steerdsl.store import probes

    monkeypatch.setenv("STEERDSL_SCALE_KEY", "sk-none")
    make_corpus(tmp_path / "corpus.jsonl", 40)
    tables = {
        "probe_rows": "SELECT row_id, text_hash, text_id, weight FROM probe_rows",
        "probe_goals": "SELECT row_id, goal, source_raw, source, delta, target FROM probe_goals",
        "calls": "SELECT row_id, sample, prompt, answer, status FROM calls",
        "outputs": "SELECT row_id, sample, goal, raw, value FROM outputs",
        "measurements": "SELECT text_hash, measure_id, raw, error FROM measurements",
    }

    def run(name: str) -> dict[str, list]:
        with FakeOpenAI() as server:
            spec = write_spec(tmp_path / f"{name}.steer", store=tmp_path / f"{name}.duckdb",
                              corpus=tmp_path / "corpus.jsonl", url=server.url, sources=10,
                              requests=3, key="STEERDSL_SCALE_KEY")
            assert steerdsl.load(spec).run().status == "ok"
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True)
        try:
            return {t: sorted(con.execute(sql).fetchall(), key=repr)
                    for t, sql in tables.items()}
        finally:
            con.close()

    whole = run("whole")
    for module, name, size in ((probes, "WRITE_CHUNK", 7), (probes, "REQUEST_CHUNK", 4),
                               (context, "MEASURE_CHUNK", 6), (score, "MEASURE_CHUNK", 5)):
        monkeypatch.setattr(module, name, size)
    chunked = run("chunked")
    assert len(whole["probe_rows"]) == 30 and len(whole["outputs"]) == 30 * len(GOALS)
    assert chunked == whole
