"""DuckDB's memory in a writer's store: bounded by a memory_limit (STEERDSL_DUCKDB_MEMORY
overrides it), and a clear message when a query needs more."""

from __future__ import annotations

import duckdb
import pytest

from steerdsl.errors import StoreError
from steerdsl.store import db
from steerdsl.store.db import open_store, out_of_memory


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


def test_a_read_that_runs_out_is_tried_again_with_room_and_the_limit_set_back(monkeypatch):
    # the end-of-run summary of a very large run: the writer's limit bounds its writes, not
    # one last read
    monkeypatch.setenv(db.MEMORY_VARIABLE, "1MB")
    con = duckdb.connect()
    db._limit_memory(con)
    bounded = limit(con)
    tries = []

    def read():
        tries.append(limit(con))
        return con.execute("SELECT len(list(range)) FROM range(10000000)").fetchone()[0]

    assert db.with_room(con, read) == 10_000_000
    assert len(tries) == 2 and tries[0] == bounded and tries[1] != bounded
    assert limit(con) == bounded
