"""Every example query in docs/sql.md runs against a realistic store and returns rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steerdsl.store.query import open_for_query, run_query
from support.synthetic_store import write_synthetic_store

DOC = Path(__file__).resolve().parents[1] / "docs" / "sql.md"
EXAMPLES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("docs") / "store.duckdb"
    write_synthetic_store(path, n_sources=8, per_source=4, failed_fraction=0.1)
    con = open_for_query(path)
    yield con
    con.close()


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("sql", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_example_runs(con, sql):
    result = run_query(con, sql)
    assert result.rows, sql


def test_documented_columns_match_the_views(con):
    """The column lists in docs/sql.md's view tables are the views' columns, in order."""
    text = DOC.read_text(encoding="utf-8")
    for view in ("answers", "metrics", "summary"):
        section = text.split(f"### `{view}`")[1].split("###")[0]
        documented = []
        for line in section.splitlines():
            m = re.match(r"\| (`[^|]+`) \|", line)
            if m:
                documented += re.findall(r"`(\w+)`", m.group(1))
        actual = [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description]
        assert documented == actual, view
