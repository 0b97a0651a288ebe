"""Opening the DuckDB store: schema, views, the format marker, and clear messages when the file
is in use, damaged, or not a steerdsl store."""

from __future__ import annotations

import os
import re
import shlex
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb

from steerdsl.errors import StoreError
from steerdsl.lang.diagnostics import printable

_VIEW_FILES = ("views.sql", "feedback_views.sql")  # in this order: the second uses the first
_SQL_FILES = ("schema.sql", *_VIEW_FILES)

# meta.format of every store steerdsl creates (or adopts): what tells a store from any other
# DuckDB file before anything is written to it.
FORMAT_KEY = "format"
FORMAT = "steerdsl-store/1"

# DuckDB's words for a file whose bytes are not what it wrote: a block whose checksum does not
# match, a file shorter than its own header says, a header that is not DuckDB's.
_DAMAGE = ("Corrupt database file", "Could not read enough bytes",
           "not a valid DuckDB database file")
_DUCKDB_MAGIC = b"DUCK"  # at byte 8 of every DuckDB file

# DuckDB's memory_limit for a writer (docs/running.md, "Memory"), overridden by the variable
MEMORY_LIMIT = "128MB"
MEMORY_VARIABLE = "STEERDSL_DUCKDB_MEMORY"

T = TypeVar("T")


class StoreDamaged(StoreError):
    """The store file is damaged (truncated, overwritten): nothing can be trusted to read."""

    def __init__(self, path: str | Path | None, detail: str):
        where = f"the store {path}" if path is not None else "the store"
        super().__init__(f"{where} is damaged ({detail}); keep a copy of it, and rerun into a "
                         "new store (another `store` path in the spec, or move this file away)")


def _sql(name: str) -> str:
    f = resources.files("steerdsl.store").joinpath(name)
    return f.read_text(encoding="utf-8") if f.is_file() else ""


def open_store(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and for writers create and migrate) a store.

    Readers open read-only so a query never changes a store; a writer creates tables and views
    that are missing, but only in an empty file or a steerdsl store: any other DuckDB file is
    refused before anything is written. DuckDB allows one writing process at a time: when
    another holds the file, raise StoreError naming it instead of DuckDB's lock message.
    """
    path = Path(path).expanduser()
    if read_only and not path.exists():
        raise StoreError(f"no store at {path}: run the spec first (steerdsl run SPEC)")
    if path.is_dir():
        raise StoreError(f"the store {path} is a folder: give the store a file name "
                         "(e.g. runs/NAME.duckdb)")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_file() and path.stat().st_size == 0:
                path.unlink()  # an empty file (e.g. made by `touch`) holds nothing: start anew
        except OSError as e:
            raise StoreError(f"cannot create the store {path}: {e.strerror or e}") from None
    con = _connect(path, read_only)
    if not read_only:
        try:
            _limit_memory(con)
            _prepare(con, path)
        except BaseException:
            con.close()
            raise
    else:
        try:
            with store_errors(path):
                if is_store(con):
                    # A read-only connection cannot (re)create the store's views, and a store
                    # written by an older steerdsl may hold older ones: TEMP objects are looked
                    # up first, so readers always see the installed version's views without
                    # changing the file (and stand-ins for what it lacks).
                    con.execute(_stand_ins_sql(con) + temporary_views_sql()).fetchall()
                    drop_unchanged_temporary_views(con)
        except BaseException:
            con.close()
            raise
    return con


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as e:
        message = str(e)
        if "lock" in message.lower():
            raise StoreError(_in_use_message(path, message)) from None
        if "not a valid DuckDB database file" in message and not _has_duckdb_magic(path):
            raise StoreError(f"{path} is not a DuckDB database (a file of another kind): "
                             "give the store another file name") from None
        if (detail := damage(e)) is not None:
            raise StoreDamaged(path, detail) from None
        raise StoreError(f"cannot open the store {path}: {_first_line(message)}") from None


def memory_limit() -> str:
    """A writer's DuckDB memory_limit: the variable's value, else MEMORY_LIMIT."""
    return os.environ.get(MEMORY_VARIABLE, "").strip() or MEMORY_LIMIT


def _limit_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Bound a writer's DuckDB memory: its buffer pool otherwise keeps the blocks it wrote (up
    to 80% of RAM), so a run's memory grew with its `calls`. Bigger queries spill to the
    store's temporary folder (DuckDB's default: the store's path + .tmp)."""
    limit = memory_limit()
    try:
        con.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
    except duckdb.Error as e:
        raise StoreError(f"{MEMORY_VARIABLE}={limit!r} is not a memory size (e.g. 512MB or "
                         f"2GB): {_first_line(str(e))}") from None


def with_room(con: duckdb.DuckDBPyConnection, read: Callable[[], T]) -> T:
    """read(), tried again when it ran out of a writer's memory_limit: first on one thread
    (each of DuckDB's threads holds partial aggregates of its own: the end-of-run summary of
    300,000 answers fits in 128 MB on one thread, not on two), then with DuckDB's default
    limit. The limit keeps what a run's writes hold bounded; one read at the end of a very
    large run may need more than it for a moment. The writer's settings are set back."""
    try:
        return read()
    except duckdb.OutOfMemoryException:
        pass
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        try:
            return read()
        except duckdb.OutOfMemoryException:
            pass
        con.execute("RESET memory_limit")
        try:
            return read()
        finally:
            _limit_memory(con)
    finally:
        con.execute(f"SET threads = {int(threads)}")


_NO_MEMORY = re.compile(r"(could not|failed to) (allocate|pin) (block|data) of size")


def out_of_memory(e: BaseException) -> StoreError | None:
    """What to say when DuckDB ran out of its memory_limit (a query it could not spill):
    how to give it more. None for any other error."""
    text = str(e)
    if not isinstance(e, duckdb.OutOfMemoryException):
        # Out of memory while committing comes as another error (a failed transaction; a
        # fatal one invalidates the database in this process, the file keeps what was
        # committed before, and its message names the cause last).
        if not (isinstance(e, duckdb.Error) and _NO_MEMORY.search(text)):
            return None
        text = text.split('Original error: "', 1)[-1]
    return StoreError(f"DuckDB ran out of memory ({_first_line(text)}); a run gives it "
                      f"{memory_limit()} ({MEMORY_VARIABLE}): set it higher (e.g. "
                      f"{MEMORY_VARIABLE}=1GB) and rerun the same command; what is stored is "
                      "kept")


def _prepare(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Create or migrate a writer's store, in one transaction, after checking it is one."""
    with store_errors(path):
        marked = _format_of(con) == FORMAT
        if not marked and not is_store(con):
            foreign = _objects(con)
            if foreign:
                shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                                  if len(foreign) > 5 else "")
                raise StoreError(
                    f"{path} is a DuckDB database but not a steerdsl store (it holds {shown}); "
                    "steerdsl writes only into its own stores: give the store another file name")
        con.execute("BEGIN TRANSACTION")
        try:
            for name in _SQL_FILES:
                sql = _sql(name)
                if sql.strip():
                    con.execute(sql).fetchall()  # DuckDB 2: finish the result
            if not marked:  # a new store, or one made before the marker: adopt it
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [FORMAT_KEY, FORMAT])
            _close_abandoned_runs(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def _format_of(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute("SELECT value FROM meta WHERE key = ?", [FORMAT_KEY]).fetchone()
    except duckdb.CatalogException:  # no meta table (a new file, or not a store)
        return None
    except duckdb.BinderException:  # a `meta` of some other program's making
        return None
    return row[0] if row else None


def _objects(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables and views a database holds (in any schema), as 'table x' / 'view y'."""
    rows = con.execute(
        "SELECT 'table ' || table_name FROM duckdb_tables() WHERE NOT temporary "
        "UNION ALL SELECT 'view ' || view_name FROM duckdb_views() "
        "WHERE NOT internal AND NOT temporary ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def _close_abandoned_runs(con: duckdb.DuckDBPyConnection) -> None:
    """Runs still marked 'running' ended without saying so (SIGKILL, a crash, power loss).

    A writer opens the store alone (DuckDB's lock), so no other process is running them: mark
    them interrupted. Only a run of this very process may still be going (the Python API can
    open a store twice in one process); its finished_at stays NULL: when it stopped is unknown.
    """
    con.execute(
        "UPDATE runs SET status = 'interrupted' WHERE status = 'running' "
        "AND (pid IS NULL OR pid <> ? OR host IS DISTINCT FROM ?)",
        [os.getpid(), socket.gethostname()])


def is_store(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds steerdsl's tables (any DuckDB file can be opened)."""
    # The file's own tables only: a reader of an older store has TEMP stand-ins (a `calls`
    # view with newer columns) that must not count.
    row = con.execute("SELECT count(*) FROM information_schema.tables "
                      "WHERE table_catalog = current_database() AND table_schema = 'main' "
                      "AND table_type = 'BASE TABLE' "
                      "AND table_name IN ('calls', 'probe_goals', 'outputs')").fetchall()[0]
    return row[0] == 3


def temporary_views_sql() -> str:
    """The views' SQL with every view and macro made TEMP, for read-only connections."""
    return re.sub(r"CREATE OR REPLACE (VIEW|MACRO)", r"CREATE OR REPLACE TEMP \1",
                  "\n".join(_sql(name) for name in _VIEW_FILES))


# --- damaged files ------------------------------------------------------------------------


def damage(e: BaseException) -> str | None:
    """DuckDB's first line when `e` says the file is damaged, else None."""
    if not isinstance(e, duckdb.Error):
        return None
    line = _first_line(str(e))
    return line if any(d in line for d in _DAMAGE) else None


@contextmanager
def store_errors(path: str | Path | None) -> Iterator[None]:
    """Turn DuckDB's errors about a damaged file, wherever they surface, into StoreDamaged."""
    try:
        yield
    except duckdb.Error as e:
        detail = damage(e)
        if detail is None:
            raise
        raise StoreDamaged(path, detail) from None


def _has_duckdb_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(12)[8:12] == _DUCKDB_MAGIC
    except OSError:
        return False


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "error"
    return re.sub(r"^(IO |INTERNAL )?Error: ", "", line)


# --- who holds the store ------------------------------------------------------------------


def _in_use_message(path: Path, message: str) -> str:
    pid = _holder_pid(message)
    command = _command_line(pid) if pid else None
    who = f"process {pid}" if pid else "another process"
    if command:
        who += f" ({command})"
    if command and re.search(r"\bsteerdsl\b.*\brun\b", command):
        advice = ("wait for the run to finish, or stop it (Ctrl-C); a stopped run continues "
                  "where it stopped when started again")
    else:
        advice = "wait for it to finish or to close the store, then try again"
    return f"the store {path} is in use by {who}: {advice}"


_NEW_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+) \((.*?)^\);", re.M | re.S)
_NEW_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) ([^;]+);", re.M)


def _stand_ins_sql(con: duckdb.DuckDBPyConnection) -> str:
    """TEMP stand-ins for what schema.sql added since an older steerdsl wrote the store
    (read-only connections cannot migrate it): empty tables, and views that read a missing
    column as NULL. So the installed views bind, and old rows read as "not recorded"."""
    have: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                     "WHERE schema_name = 'main' AND NOT internal").fetchall():
        have.setdefault(table, set()).add(column)
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    schema = _sql("schema.sql")
    out = [f"CREATE TEMP TABLE {name} ({body});" for name, body in _NEW_TABLE.findall(schema)
           if name not in have]
    missing: dict[str, list[str]] = {}
    for table, column, sql_type in _NEW_COLUMN.findall(schema):
        if table in have and column not in have[table]:
            missing.setdefault(table, []).append(f"CAST(NULL AS {sql_type}) AS {column}")
    for table, nulls in missing.items():
        out.append(f'CREATE TEMP VIEW {table} AS SELECT *, {", ".join(nulls)} '
                   f'FROM "{db}".main.{table};')
    return "\n".join(out) + "\n"


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
    return m.group(1) if m and m.group(1) != "0" else None


def _command_line(pid: str, width: int = 300) -> str | None:
    """The holder's command line, shortened and printable; None when it cannot be read (another
    machine, another user, a process that just ended)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    if not args:
        return None
    for i, a in enumerate(args):  # `python -m steerdsl.cli VERB`, `.../bin/steerdsl VERB`
        if a == "steerdsl.cli" or (i == 0 and Path(a).name == "steerdsl"):
            args = ["steerdsl", *args[i + 1:]]
            break
    text = printable(" ".join(shlex.quote(a) for a in args))
    return text if len(text) <= width else text[: width - 3] + "..."
