"""A store written by an older steerdsl, opened read-only (query, report): the installed views
still work, and what the older version did not record reads as NULL."""

from __future__ import annotations

import numpy as np

from steerdsl.store.db import is_store, open_store
from steerdsl.store.query import open_for_query
from support.metrics_store import new_store, write_answers, write_probe


def test_read_only_store_without_newer_tables_and_columns(tmp_path):
    path = tmp_path / "old.duckdb"
    con = new_store(path)
    write_probe(con, ["x"], np.array([[0.5], [0.4]]), np.array([[0.3], [-0.2]]))
    write_answers(con, ["x"], np.array([[[0.8]], [[0.2]]]))
    # what the store looked like before finish_reason, scorings and model_capabilities
    con.execute("DROP VIEW calls_summary; DROP VIEW flagged_calls; DROP VIEW answers; "
                "DROP VIEW summary; DROP VIEW metrics; DROP VIEW current_generations; "
                "ALTER TABLE calls DROP COLUMN finish_reason; DROP TABLE scorings; "
                "DROP TABLE model_capabilities")
    con.close()

    ro = open_store(path, read_only=True)
    try:
        assert ro.execute("SELECT calls, ok, truncated FROM calls_summary").fetchall() == [
            (2, 2, 0)]
        assert ro.execute("SELECT row_id, truncated, selected FROM metrics "
                          "ORDER BY row_id").fetchall() == [(0, False, True), (1, False, True)]
        assert ro.execute("SELECT DISTINCT finish_reason FROM calls").fetchall() == [(None,)]
        assert ro.execute("SELECT truncated_policy FROM current_generations").fetchall() == [
            ("score",)]
        assert is_store(ro)  # the stand-in `calls` view does not hide the real table
    finally:
        ro.close()
    # what query and report open: an older store is still a store
    q = open_for_query(path)
    try:
        assert q.execute("SELECT count(*) FROM metrics").fetchall() == [(2,)]
    finally:
        q.close()
    # the file itself is unchanged: a writer migrates it
    rw = open_store(path)
    try:
        assert rw.execute("SELECT count(*) FROM calls WHERE finish_reason IS NULL").fetchall() \
            == [(2,)]
    finally:
        rw.close()


def test_read_only_store_from_before_groundedness(tmp_path):
    """A store without verdicts, groundings and reviews: no generation is grounded, so
    `summary` is `summary_all` and the grounding views are empty."""
    path = tmp_path / "old.duckdb"
    con = new_store(path)
    write_probe(con, ["x"], np.array([[0.5], [0.4]]), np.array([[0.3], [-0.2]]))
    write_answers(con, ["x"], np.array([[[0.8]], [[0.2]]]))
    con.execute("DROP VIEW grounding_summary; DROP VIEW grounding; DROP VIEW summary; "
                "DROP VIEW summary_all; DROP MACRO TABLE steer_summary; DROP VIEW metrics; "
                "DROP VIEW answer_verdicts; DROP TABLE verdicts; DROP TABLE groundings; "
                "DROP TABLE reviews")
    con.close()

    ro = open_store(path, read_only=True)
    try:
        assert ro.execute("SELECT row_id, grounded FROM metrics ORDER BY row_id").fetchall() == [
            (0, None), (1, None)]
        assert ro.execute("SELECT n FROM summary WHERE metric = 'steering_error'").fetchall() \
            == ro.execute("SELECT n FROM summary_all WHERE metric = 'steering_error'").fetchall() \
            == [(2,)]
        assert ro.execute("SELECT count(*) FROM grounding").fetchall() == [(0,)]
        assert ro.execute("SELECT count(*) FROM grounding_summary").fetchall() == [(0,)]
    finally:
        ro.close()
