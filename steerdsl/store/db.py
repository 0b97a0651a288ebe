"""Opening the DuckDB store: schema, views, and clear messages when another process holds it."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import duckdb

from steerdsl.errors import StoreError

_SQL_FILES = ("schema.sql", "views.sql")


def _sql(name: str) -> str:
    f = resources.files("steerdsl.store").joinpath(name)
    return f.read_text(encoding="utf-8") if f.is_file() else ""


def open_store(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and for writers create and migrate) a store.

    Readers open read-only so a query never changes a store; a writer creates tables and views
    that are missing. DuckDB allows one writing process at a time: when another holds the file,
    raise StoreError with what to do instead of DuckDB's lock message.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"no store at {path}: run the spec first (steerdsl run SPEC)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            pid = _holder_pid(str(e))
            who = f"process {pid}" if pid else "another process"
            raise StoreError(
                f"the store {path} is in use by {who} (a running `steerdsl run`?). "
                "Wait for it to finish, or stop it; it resumes where it stopped when started again."
            ) from None
        raise StoreError(f"cannot open the store {path}: {e}") from None
    if not read_only:
        for name in _SQL_FILES:
            sql = _sql(name)
            if sql.strip():
                con.execute(sql).fetchall()  # DuckDB 2: finish the result
    elif is_store(con):
        # A read-only connection cannot (re)create the store's views, and a store written by
        # an older steerdsl may hold older ones: TEMP objects are looked up first, so readers
        # always see the installed version's views without changing the file.
        con.execute(temporary_views_sql()).fetchall()  # DuckDB 2: finish the result
        drop_unchanged_temporary_views(con)
    return con


def is_store(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds steerdsl's tables (any DuckDB file can be opened)."""
    row = con.execute("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_name IN ('calls', 'probe_goals', 'outputs')").fetchall()[0]
    return row[0] == 3


def temporary_views_sql() -> str:
    """views.sql with every view and macro made TEMP, for read-only connections."""
    return re.sub(r"CREATE OR REPLACE (VIEW|MACRO)", r"CREATE OR REPLACE TEMP \1", _sql("views.sql"))


def drop_unchanged_temporary_views(con: duckdb.DuckDBPyConnection) -> None:
    """Drop each temporary view whose stored twin has the same definition.

    Otherwise `SHOW TABLES` and `information_schema` list those views twice. Views are bound
    when queried, with TEMP objects looked up first, so a stored view that is kept still reads
    the temporary (installed) version of any view it uses that did change.
    """
    rows = con.execute("""
        SELECT t.view_name FROM duckdb_views() t JOIN duckdb_views() s
          ON s.view_name = t.view_name AND NOT s.temporary AND s.schema_name = 'main'
             AND s.database_name = current_database()
        WHERE t.temporary AND NOT t.internal
          AND replace(t.sql, 'CREATE TEMP VIEW ', 'CREATE VIEW ') = s.sql""").fetchall()
    for (name,) in rows:
        con.execute(f'DROP VIEW temp.main."{name}"')


def _holder_pid(message: str) -> str | None:
    m = re.search(r"PID (\d+)", message)
    return m.group(1) if m else None
