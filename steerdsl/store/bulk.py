"""Bulk writes into the store.

DuckDB inserts row by row at 1-2 k rows/s but takes an Arrow table at millions of rows/s, so
every multi-row write goes through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

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
    finally:
        con.unregister(name)
    return arrow.num_rows
