"""DuckDB's memory in a writer's store: bounded by a memory_limit (STEERDSL_DUCKDB_MEMORY
overrides it), and a clear message when a query needs more."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from steerdsl.errors import StoreError
from steerdsl.probe.table import ProbeTable
from steerdsl.store import db
from steerdsl.store.bulk import insert_columns, transaction
from steerdsl.store.db import open_store, out_of_memory
from steerdsl.store.probes import load_probe, save_probe


def limit(con) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_writer_has_the_default_limit_and_the_variable_overrides_it(tmp_path, monkeypatch):
    monkeypatch.delenv(db.MEMORY_VARIABLE, raising=False)
    con = open_store(tmp_path / "s.duckdb")
    assert limit(con) == "122.0 MiB"  # 128MB
    con.close()
    monkeypatch.setenv(db.MEMORY_VARIABLE, "1GB")
    con = open_store(tmp_path / "s.duckdb")
    assert limit(con) == "953.6 MiB"
    con.close()


def test_a_bad_limit_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(db.MEMORY_VARIABLE, "lots")
    with pytest.raises(StoreError, match="STEERDSL_DUCKDB_MEMORY='lots' is not a memory size"):
        open_store(tmp_path / "s.duckdb")


def test_out_of_memory_says_how_to_give_more():
    con = duckdb.connect()
    con.execute("SET memory_limit = '1MB'")
    with pytest.raises(duckdb.OutOfMemoryException) as e:
        con.execute("SELECT list(range) FROM range(10000000)").fetchall()
    error = out_of_memory(e.value)
    assert error is not None and "STEERDSL_DUCKDB_MEMORY=1GB" in str(error)
    assert out_of_memory(ValueError("x")) is None


def threads(con) -> int:
    return con.execute("SELECT current_setting('threads')").fetchone()[0]


BIG = "SELECT len(list(range)) FROM range(10000000)"  # far more than 1 MB, on any threads


def bounded_connection(monkeypatch, n_threads: int
                       ) -> tuple[duckdb.DuckDBPyConnection, str, list]:
    """A connection with a writer's limit (1 MB) on `n_threads` threads, the limit as DuckDB
    shows it, and a list for the tries a read records."""
    monkeypatch.setenv(db.MEMORY_VARIABLE, "1MB")
    con = duckdb.connect()
    db._limit_memory(con)
    con.execute(f"SET threads = {n_threads}")
    return con, limit(con), []


def test_a_read_that_runs_out_is_tried_on_one_thread_then_with_room(monkeypatch):
    # the end-of-run summary of a very large run: the writer's limit bounds its writes, not
    # one last read; the settings are set back after
    con, bounded, tries = bounded_connection(monkeypatch, n_threads=3)

    def read():
        tries.append((limit(con), threads(con)))
        return con.execute(BIG).fetchone()[0]

    assert db.with_room(con, read) == 10_000_000
    assert tries[:2] == [(bounded, 3), (bounded, 1)]
    assert len(tries) == 3 and tries[2][0] != bounded and tries[2][1] == 1
    assert (limit(con), threads(con)) == (bounded, 3)


def test_a_read_that_fits_on_one_thread_keeps_the_limit(monkeypatch):
    # each thread's partial aggregates: the summary of 300,000 answers needs more than 128 MB
    # on two threads and fits on one (measured on a real store; here, a read that does)
    con, bounded, tries = bounded_connection(monkeypatch, n_threads=2)

    def read():
        tries.append((limit(con), threads(con)))
        return con.execute(BIG if threads(con) > 1 else "SELECT 1").fetchone()[0]

    assert db.with_room(con, read) == 1
    assert tries == [(bounded, 2), (bounded, 1)]
    assert (limit(con), threads(con)) == (bounded, 2)


def test_out_of_memory_while_committing_says_the_same():
    # DuckDB's words when a commit ran out of its limit (a probe of 300,000 rows written in
    # one transaction did): the database is invalidated, the cause named last
    fatal = duckdb.FatalException(
        "FATAL Error: Failed: database has been invalidated because of a previous fatal error. "
        "The database must be restarted prior to being used again.\nOriginal error: \"Failed "
        "to flush table probe_goals during commit: could not allocate block of size 256.0 KiB "
        "(121.9 MiB/122.0 MiB used)\n\nPossible solutions:\n* Reducing the number of threads")
    error = out_of_memory(fatal)
    assert error is not None and str(error).startswith(
        "DuckDB ran out of memory (Failed to flush table probe_goals during commit: could not "
        "allocate block of size 256.0 KiB (121.9 MiB/122.0 MiB used)); a run gives it ")
    assert out_of_memory(duckdb.FatalException("FATAL Error: disk I/O")) is None


def test_a_bulk_insert_that_runs_out_reports_its_own_error_and_stores_nothing(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute("CREATE TABLE t (k VARCHAR, i INTEGER, v DOUBLE, PRIMARY KEY (k, i))")
    con.execute("SET memory_limit = '8MB'")
    n = 400_000
    with pytest.raises(duckdb.Error) as e:
        with transaction(con):
            insert_columns(con, "t", {"k": pa.repeat(pa.scalar("h" * 16), n),
                                      "i": np.arange(n, dtype=np.int32), "v": np.zeros(n)})
    assert "aborted" not in str(e.value)  # was: "Current transaction is aborted", from cleanup
    assert out_of_memory(e.value) is not None
    con.close()  # out of memory at the commit invalidates the database in this process
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)
    con.close()


def test_a_probe_larger_than_duckdbs_memory_is_written_a_chunk_at_a_time(tmp_path, monkeypatch):
    # In one transaction, 100,000 rows of 4 goals needed more than 32 MB (300,000 more than a
    # run's 128 MB); a chunk at a time, each commit frees what the last one held.
    monkeypatch.setenv(db.MEMORY_VARIABLE, "32MB")
    n, goals = 100_000, ["a", "b", "c", "d"]
    rng = np.random.default_rng(0)
    table = ProbeTable(goals=goals, texts=[f"text {i % 500}" for i in range(n)],
                       text_ids=[f"c:{i % 500}" for i in range(n)], source=rng.random((n, 4)),
                       delta=rng.random((n, 4)), target=rng.random((n, 4)))
    con = open_store(tmp_path / "s.duckdb")
    try:
        save_probe(con, "p" * 16, "big", None, table)
    finally:
        con.close()
    monkeypatch.delenv(db.MEMORY_VARIABLE)  # reading it whole is for tests: more room
    con = open_store(tmp_path / "s.duckdb")
    try:
        stored = load_probe(con, "p" * 16)
        assert con.execute("SELECT count(*) FROM probe_goals").fetchone() == (n * 4,)
    finally:
        con.close()
    assert stored.table.n_rows == n and stored.table.texts[n - 1] == "text 499"
    assert np.array_equal(stored.table.target, table.target)
