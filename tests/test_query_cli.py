"""`steerdsl query`: output formats, exit codes, read-only opening, a store held by a run."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from steerdsl.cli import main
from support.metrics_store import new_store, write_answers, write_probe

NAN = float("nan")


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "results.duckdb"
    con = new_store(path)
    write_probe(con, ["x", "y"], np.array([[0.5, 0.5], [0.3, 0.9]]),
                np.array([[0.2, NAN], [NAN, -0.3]]))
    write_answers(con, ["x", "y"], np.array([[[0.7, 0.5], [0.6, 0.5]], [[0.3, 0.6], [0.2, 0.9]]]),
                  model="llama", intervention="best2")
    con.close()
    return path


def query(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["query", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_output(store, capsys):
    code, out, err = query(capsys, store, "SELECT row_id, sample, steering_error, selected "
                                          "FROM metrics ORDER BY row_id, sample")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["row_id", "sample", "steering_error", "selected"]
    assert lines[2].split() == ["0", "0", "0", "true"]
    assert lines[3].split() == ["0", "1", "0.142857", "false"]
    assert lines[-1] == "(4 rows)"
    # numbers are right-aligned under their header
    assert lines[3].index("0.142857") + len("0.142857") == lines[0].index("steering_error") + len(
        "steering_error")


def test_table_limit(store, capsys):
    code, out, _ = query(capsys, store, "SELECT * FROM range(10)", "--limit", "3")
    assert code == 0
    assert out.splitlines()[-1] == "(3 of 10 rows shown; use --limit 0, --csv or --json for all)"
    assert len(out.splitlines()) == 2 + 3 + 1


def test_csv_output(store, capsys):
    code, out, _ = query(capsys, store, "SELECT row_id, sample, steering_error_raw, selected, "
                                        "NULL AS nothing FROM metrics ORDER BY row_id, sample",
                         "--csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["row_id", "sample", "steering_error_raw", "selected", "nothing"]
    assert rows[1] == ["0", "0", "0.0", "true", ""]
    assert float(rows[2][2]) == pytest.approx(0.1, abs=1e-15)  # full precision
    assert len(rows) == 5


def test_json_output(store, capsys):
    code, out, _ = query(capsys, store, "SELECT model, intervention, metric, n, median "
                                        "FROM summary WHERE metric = 'steering_error'", "--json")
    assert code == 0
    data = json.loads(out)
    assert data == [{"model": "llama", "intervention": "best2", "metric": "steering_error",
                     "n": 2, "median": pytest.approx(0.0)}]


def test_json_special_values(store, capsys):
    code, out, _ = query(capsys, store, "SELECT 'nan'::DOUBLE AS a, [1, 2] AS l, "
                                        "DATE '2026-01-02' AS d", "--json")
    assert code == 0
    assert json.loads(out) == [{"a": None, "l": [1, 2], "d": "2026-01-02"}]


@pytest.mark.parametrize("sql, message", [
    ("SELEC 1", "error: SQL: Parser Error: syntax error"),
    ("SELECT * FROM no_such_table", "error: SQL: Catalog Error"),
    ("DELETE FROM calls", "read-only"),
    ("SELECT * FROM metric", 'does not exist! Did you mean "metrics"?'),
])
def test_sql_errors_are_one_message_exit_2(store, capsys, sql, message):
    code, out, err = query(capsys, store, sql)
    assert code == 2 and out == ""
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_query_never_changes_the_store(store, capsys):
    before = store.read_bytes()
    query(capsys, store, "CREATE TABLE t AS SELECT 1")
    query(capsys, store, "SELECT * FROM summary")
    assert store.read_bytes() == before


def test_missing_store_exit_1(tmp_path, capsys):
    code, out, err = query(capsys, tmp_path / "none.duckdb", "SELECT 1")
    assert code == 1 and "no store at" in err and "steerdsl run" in err


def test_spec_argument_resolves_to_its_store(store, tmp_path, capsys):
    spec = tmp_path / "exp.steer"
    spec.write_text(f'experiment exp {{\n  seed 1\n  store "{store.name}"\n}}\n')
    code, out, _ = query(capsys, spec, "SELECT count(*) AS n FROM metrics", "--csv")
    assert code == 0 and out.splitlines() == ["n", "4"]


def test_old_store_without_views_still_queryable(tmp_path, capsys):
    """A read-only query brings its own (temporary) views: a store written before the views
    existed, or with older ones, is still scored by the installed definitions."""
    import duckdb

    path = tmp_path / "old.duckdb"
    con = new_store(path)
    write_probe(con, ["x"], np.array([[0.5]]), np.array([[0.3]]))
    write_answers(con, ["x"], np.array([[[0.8]]]))
    for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                               "AND schema_name = 'main'").fetchall():
        con.execute(f"DROP VIEW {name} CASCADE")
    con.close()
    assert not duckdb.connect(str(path), read_only=True).execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = 'metrics'").fetchone()[0]
    code, out, _ = query(capsys, path, "SELECT steering_error FROM metrics", "--csv")
    assert code == 0 and out.splitlines() == ["steering_error", "0.0"]


def test_store_held_by_a_run(store, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(store)!r})\n"
         "con.execute('INSERT INTO meta VALUES (\\'k\\', \\'v\\')')\n"
         "print('ready', flush=True)\n"
         "sys.stdin.readline()\n"
         "con.close()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        code, out, err = query(capsys, store, "SELECT count(*) FROM metrics")
        assert code == 1 and out == ""
        assert f"in use by process {holder.pid}" in err
        assert "Traceback" not in err
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    # The holder's write went through and the store is intact afterwards.
    code, out, _ = query(capsys, store, "SELECT (SELECT value FROM meta WHERE key = 'k') AS v, "
                                        "(SELECT count(*) FROM metrics) AS n", "--csv")
    assert code == 0 and out.splitlines() == ["v,n", "v,4"]


def test_cli_subprocess_exit_codes(store):
    """Through the installed entry point, as a user runs it."""
    ok = subprocess.run([sys.executable, "-m", "steerdsl.cli", "query", str(store),
                         "SELECT 1 AS one", "--csv"], capture_output=True, text=True, timeout=60)
    assert (ok.returncode, ok.stdout) == (0, "one\n1\n")
    bad = subprocess.run([sys.executable, "-m", "steerdsl.cli", "query", str(store), "SELEC"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: SQL:")


def test_any_duckdb_file_can_be_queried(tmp_path, capsys):
    import duckdb

    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE x AS SELECT 42 AS a")
    con.close()
    assert query(capsys, path, "SELECT a FROM x", "--csv")[:2] == (0, "a\n42\n")
    code, _, err = query(capsys, path, "SELECT * FROM metrics")
    assert code == 2 and "metrics does not exist" in err


def test_show_tables_lists_each_view_once(store, capsys):
    """The read-only connection's temporary views do not duplicate the stored ones."""
    code, out, _ = query(capsys, store, "SHOW TABLES", "--csv")
    assert code == 0
    names = out.splitlines()[1:]
    assert len(names) == len(set(names))
    assert {"answers", "calls_summary", "current_generations", "metrics", "summary",
            "calls"} <= set(names)


def test_changed_stored_view_is_replaced_by_the_installed_one(tmp_path, capsys):
    """A store whose stored view differs from the installed definition is still read through
    the installed one (a temporary view of the same name)."""
    path = tmp_path / "old.duckdb"
    con = new_store(path)
    write_probe(con, ["x"], np.array([[0.5]]), np.array([[0.3]]))
    write_answers(con, ["x"], np.array([[[0.8]]]))
    con.execute("CREATE OR REPLACE VIEW metrics AS SELECT 42 AS steering_error")
    con.close()
    code, out, _ = query(capsys, path, "SELECT steering_error, n_active FROM metrics", "--csv")
    assert code == 0 and out.splitlines() == ["steering_error,n_active", "0.0,1"]
