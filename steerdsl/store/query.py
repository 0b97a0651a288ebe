"""Plain SQL over a store, read-only, and the three ways `steerdsl query` prints a result."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from steerdsl.errors import UsageError


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]


# After these, the connection's SQL reaches no file but the store and no network. DuckDB
# refuses to switch external access back on while the database is open.
_NO_EXTERNAL_ACCESS = ("SET enable_external_access = false",
                       "SET autoinstall_known_extensions = false",
                       "SET autoload_known_extensions = false")
FILES_HINT = "(queries cannot read or write files or the network unless --allow-files)"


def open_for_query(path: str | Path, *, any_duckdb_file: bool = False,
                   allow_files: bool = True):
    """A read-only connection to the store with the current views.

    A DuckDB file without steerdsl's tables is a StoreError, unless `any_duckdb_file`: then
    plain SQL over its own tables works, and a query naming a view is told it does not exist.
    Without `allow_files`, SQL on the connection cannot read or write other files (COPY,
    EXPORT, read_csv, ATTACH), install or load extensions, or reach the network.
    """
    from steerdsl.errors import StoreError
    from steerdsl.store.db import is_store, open_store

    con = open_store(path, read_only=True)  # creates the temporary views first
    if not any_duckdb_file and not is_store(con):
        con.close()
        raise StoreError(f"{path} is not a steerdsl store (it has no steerdsl tables)")
    if not allow_files:
        for statement in _NO_EXTERNAL_ACCESS:
            con.execute(statement).fetchall()
    return con


def run_query(con, sql: str) -> QueryResult:
    """Run SQL (the last statement's result); a SQL mistake is a UsageError with DuckDB's first
    line. Ctrl-C interrupts DuckDB and raises KeyboardInterrupt."""
    import duckdb

    try:
        return _interruptible(con, lambda: _execute(con, sql))
    except duckdb.Error as e:
        from steerdsl.store.db import damage

        if damage(e) is not None:
            raise  # not a mistake in the SQL: the caller says the store is damaged
        hint = f" {FILES_HINT}" if isinstance(e, duckdb.PermissionException) else ""
        raise UsageError(f"SQL: {_first_line(str(e))}{hint}") from None


def _execute(con, sql: str) -> QueryResult:
    cursor = con.execute(sql)
    if cursor is None:  # nothing but comments
        raise UsageError("no SQL statement, only comments: give a statement, e.g. "
                         '"SELECT * FROM summary"')
    if cursor.description is None:  # a statement without a result (SET, PRAGMA, ...)
        return QueryResult([], [])
    columns = [d[0] for d in cursor.description]
    return QueryResult(columns, cursor.fetchall())


def _interruptible(con, work: Callable[[], QueryResult]) -> QueryResult:
    """`work()` in a thread, so Ctrl-C reaches Python while DuckDB runs (it holds the main
    thread otherwise until the query ends) and can interrupt the query."""
    outcome: list = []
    # An Event, not Thread.join: a join interrupted by Ctrl-C marks the thread finished
    # (Python 3.11), so a second join would not wait for DuckDB to stop.
    finished = threading.Event()

    def target() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as e:  # handed to the caller's thread
            outcome.append((False, e))
        finally:
            finished.set()

    threading.Thread(target=target, name="steerdsl-query", daemon=True).start()
    try:
        finished.wait()
    except KeyboardInterrupt:
        con.interrupt()
        finished.wait()  # DuckDB stops within moments; the caller then closes the connection
        raise
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _first_line(message: str) -> str:
    """DuckDB's first line, plus its hint ("Did you mean ...?", "Candidate bindings: ..."),
    which it puts on a later line, on one line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "error"
    first = lines[0]
    hint = next((line for line in lines[1:]
                 if line.startswith(("Did you mean", "Candidate bindings"))), None)
    if hint:
        first += f" {hint}"
    if "read-only" in message.lower() or "read only" in message.lower():
        first += " (queries open the store read-only; write with `steerdsl run`)"
    return first


def _plain(value: Any) -> Any:
    """A JSON-friendly value of any DuckDB type: JSON's own types as they are (NaN and
    infinities as None), lists and structs converted inside, dates and times in ISO format,
    intervals as ISO durations, blobs in hex, anything else (UUID, ...) as its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (float, Decimal)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):  # structs, and maps with keys of any type
        return {k if isinstance(k, str) else json.dumps(_plain(k), ensure_ascii=False):
                _plain(v) for k, v in value.items()}
    return str(value)


def iso_duration(delta: timedelta) -> str:
    """ISO 8601: `P3DT5S`, `-PT1H30M`, `PT0.5S` (DuckDB hands months over as 30 days)."""
    sign = "-" if delta < timedelta(0) else ""
    delta = abs(delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    secs = f"{seconds}.{delta.microseconds:06d}".rstrip("0").rstrip(".")
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    clock += f"{secs}S" if delta.microseconds or seconds else ""
    day = f"{delta.days}D" if delta.days else ""
    if not day and not clock:
        return "PT0S"
    return f"{sign}P{day}" + (f"T{clock}" if clock else "")


def to_json(result: QueryResult) -> str:
    """A JSON array of objects, one per row (NaN and infinities become null)."""
    records = [{c: _plain(v) for c, v in zip(result.columns, row)} for row in result.rows]
    return json.dumps(records, indent=2, ensure_ascii=False)


def to_csv(result: QueryResult) -> str:
    """CSV with a header; NULL is an empty field; floats at full precision."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else _csv_cell(v) for v in row])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return value  # the csv module writes repr: full precision, and nan, inf, -inf
    value = _plain(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        text = value
    else:
        value = _plain(value)
        if isinstance(value, (list, dict)):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 60 else text[:57] + "..."


def to_table(result: QueryResult, limit: int | None = None, footer: bool = True) -> str:
    """A plain aligned table (numbers right-aligned), at most `limit` rows."""
    if not result.columns:
        return "(no result)"
    rows = result.rows if limit is None else result.rows[:limit]
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(r[i], (int, float, Decimal)) and not isinstance(r[i], bool)
                   for r in rows if r[i] is not None) and any(r[i] is not None for r in rows)
               for i in range(len(result.columns))]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(result.columns), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    shown, total = len(rows), len(result.rows)
    if shown < total:
        out.append(f"({shown} of {total} rows shown; use --limit 0, --csv or --json for all)")
    elif footer:
        out.append(f"({total} row{'s' if total != 1 else ''})")
    return "\n".join(out)
