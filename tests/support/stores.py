"""Reading a store file from tests, read-only, as a user's `duckdb.connect` would."""

from __future__ import annotations

from pathlib import Path

import duckdb


def read_rows(db: Path, sql: str) -> list[tuple]:
    """The rows of one query over the store at `db`, opened read-only and closed again."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
