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


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 1 AS a) TO '{dir}/out.csv'",
    "EXPORT DATABASE '{dir}/exported'",
    "SELECT * FROM read_text('{dir}/secret.txt')",
    "SELECT * FROM read_csv('{dir}/secret.txt')",
    "ATTACH '{dir}/other.duckdb' AS other",
    "INSTALL httpfs",
    "SELECT * FROM 'https://127.0.0.1:9/x.csv'",
])
def test_query_cannot_touch_files_or_network(store, tmp_path, capsys, sql):
    (tmp_path / "secret.txt").write_text("secret\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = query(capsys, store, sql.format(dir=tmp_path))
    assert code == 2 and out == ""
    assert "file system operations are disabled" in err or "disabled through configuration" in err
    assert err.rstrip().endswith("(queries cannot read or write files or the network unless "
                                 "--allow-files)")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_allow_files(store, tmp_path, capsys):
    (tmp_path / "in.csv").write_text("a\n7\n")
    code, out, _ = query(capsys, store, f"SELECT a FROM read_csv('{tmp_path}/in.csv')", "--csv",
                         "--allow-files")
    assert (code, out) == (0, "a\n7\n")
    code, _, _ = query(capsys, store, f"COPY (SELECT * FROM summary) TO '{tmp_path}/s.csv'",
                       "--allow-files")
    assert code == 0 and (tmp_path / "s.csv").read_text().startswith("model,intervention")


def test_views_work_with_external_access_off(store, capsys):
    code, out, _ = query(capsys, store, "SELECT count(*) AS n FROM metrics JOIN answers "
                                        "USING (gen_hash, row_id, sample) "
                                        "WHERE (SELECT count(*) FROM summary) > 0 "
                                        "AND (SELECT count(*) FROM calls_summary) > 0", "--csv")
    assert (code, out) == (0, "n\n8\n")


@pytest.mark.parametrize("sql", ["-- only a comment", "/* a comment */", " ; "])
def test_statement_without_sql(store, capsys, sql):
    code, out, err = query(capsys, store, sql)
    assert (code, out) == (2, "")
    assert err == ('error: no SQL statement, only comments: give a statement, e.g. '
                   '"SELECT * FROM summary"\n')


def test_json_any_column_type(store, capsys):
    """Every DuckDB type prints: strings for what JSON has no type for."""
    code, out, err = query(capsys, store, """
        SET TimeZone = 'UTC';
        SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS u,
               INTERVAL 3 DAY + INTERVAL 5 SECOND AS i,
               INTERVAL 14 MONTH AS months,  -- months come as 30 days
               1.50::DECIMAL(10, 2) AS d,
               MAP {'a': 1, 'b': 2} AS m,
               MAP {1: 'x'} AS m_int,
               '\\xAA\\x01'::BLOB AS b,
               TIMESTAMPTZ '2020-01-01 10:00:00+00' AS tz,
               TIME '10:00:01' AS t,
               TIMESTAMP '2020-01-01 10:00:00' AS ts,
               12345678901234567890123::HUGEINT AS h,
               {'k': ['6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID]} AS st,
               [1.25::DECIMAL(4, 2)] AS l,
               [1, 2]::INTEGER[2] AS arr,
               'x'::ENUM ('x', 'y') AS e""", "--json")
    assert code == 0, err
    assert json.loads(out) == [{
        "u": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "i": "P3DT5S", "months": "P420D",
        "d": 1.5, "m": {"a": 1, "b": 2}, "m_int": {"1": "x"}, "b": "aa01",
        "tz": "2020-01-01T10:00:00+00:00", "t": "10:00:01", "ts": "2020-01-01T10:00:00",
        "h": 12345678901234567890123, "st": {"k": ["6ba7b810-9dad-11d1-80b4-00c04fd430c8"]},
        "l": [1.25], "arr": [1, 2], "e": "x"}]


def test_csv_and_table_any_column_type(store, capsys):
    sql = ("SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS u, INTERVAL 90 MINUTE AS i, "
           "[INTERVAL 1 DAY] AS li")
    code, out, _ = query(capsys, store, sql, "--csv")
    assert code == 0
    assert out.splitlines() == ["u,i,li", '6ba7b810-9dad-11d1-80b4-00c04fd430c8,PT1H30M,"[""P1D""]"']
    code, out, _ = query(capsys, store, sql)
    assert code == 0 and out.splitlines()[2].split() == [
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "PT1H30M", '["P1D"]']


def test_csv_writes_nan_and_infinities(store, capsys):
    code, out, _ = query(capsys, store, "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, "
                                        "'-inf'::DOUBLE AS c, NULL::DOUBLE AS d, 1.5 AS e",
                         "--csv")
    assert (code, out) == (0, "a,b,c,d,e\nnan,inf,-inf,,1.5\n")


def test_ctrl_c_stops_a_long_query(store):
    """SIGINT while DuckDB runs: a message and exit 130, within seconds."""
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "steerdsl.cli", "query", str(store),
         "SELECT count(*) FROM range(1000000000000) t(x) WHERE x % 7 = 3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(5)  # imports done, the query running (either way the outcome is the same)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, out) == (130, "")
    # "interrupted: the query stopped; ..." (or the CLI's own line if the signal came early)
    assert err.startswith("interrupted") and len(err.splitlines()) == 1
