"""Bulk writes into the store.

DuckDB inserts row by row at 1-2 k rows/s but takes an Arrow table at millions of rows/s, so
every multi-row write goes through here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, Literal, TypeVar

import duckdb


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str],
                rows: Iterable[Sequence], on_conflict: Literal["ignore", "replace"] | None = None
                ) -> int:
    """Insert tuples (in `columns` order) into `table`; returns the number of rows given."""
    import pyarrow as pa

    rows = list(rows)
    if not rows:
        return 0
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    return insert_columns(con, table, data, on_conflict, pa=pa)


def insert_columns(con: duckdb.DuckDBPyConnection, table: str, data: dict[str, Sequence],
                   on_conflict: Literal["ignore", "replace"] | None = None, pa=None) -> int:
    """Insert column-wise data (lists or numpy arrays of equal length) into `table`."""
    if pa is None:
        import pyarrow as pa
    # Arrow arrays and numpy arrays go in as they are (typed, NaN kept); lists are converted.
    arrow = pa.table({c: (v if isinstance(v, (pa.Array, pa.ChunkedArray)) or hasattr(v, "dtype")
                          else pa.array(v)) for c, v in data.items()})
    if arrow.num_rows == 0:
        return 0
    verb = {None: "INSERT", "ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE"}
    cols = ", ".join(f'"{c}"' for c in data)
    name = f"_bulk_{table}"
    con.register(name, arrow)
    try:
        con.execute(f"{verb[on_conflict]} INTO {table} ({cols}) SELECT {cols} FROM {name}")
    except BaseException:
        try:
            con.unregister(name)
        except duckdb.Error:  # the failed insert aborted the transaction; the next register
            pass  # of the name replaces it. The error to report is the insert's
        raise
    con.unregister(name)
    return arrow.num_rows


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # a failed commit ended it, or the error invalidated the database:
            pass  # the error to report is the first one
        raise


R = TypeVar("R")


class BatchWriter(Generic[R]):
    """Buffers records and writes them in batches (`write`, one transaction each), flushed by
    the caller's clock at least every `flush_s` seconds or `flush_rows` records: a kill -9
    loses at most the unflushed records."""

    def __init__(self, con: duckdb.DuckDBPyConnection, flush_rows: int, flush_s: float) -> None:
        # Warm up the Arrow path now (pyarrow and DuckDB's lazy imports for Arrow scans took
        # over a second on a loaded machine): the first flush must not be late.
        import pyarrow as pa

        con.register("_steerdsl_warm_up", pa.table({"x": pa.array([], pa.int32())}))
        con.execute("SELECT count(*) FROM _steerdsl_warm_up").fetchall()
        con.unregister("_steerdsl_warm_up")
        self.con = con
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        self.buffer: list[R] = []
        self.last_flush = time.monotonic()
        self.written = 0

    def add(self, record: R) -> None:
        self.buffer.append(record)

    def due(self) -> bool:
        return bool(self.buffer) and (len(self.buffer) >= self.flush_rows
                                      or time.monotonic() - self.last_flush >= self.flush_s)

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        batch, self.buffer = self.buffer, []
        if batch:
            self.write(batch)
            self.written += len(batch)

    def write(self, batch: list[R]) -> None:
        raise NotImplementedError
