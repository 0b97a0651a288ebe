"""The console summary for the end of `steerdsl run`."""

from __future__ import annotations

import numpy as np

from steerdsl.store.summary import format_summary, summary_rows
from support.metrics_store import new_store, write_answers, write_probe
from support.reference_metrics import answer_metrics

NAN = float("nan")


def test_format_summary(tmp_path):
    con = new_store(tmp_path / "s.duckdb")
    assert "no results yet" in format_summary(con)
    source = np.array([[0.5, 0.5], [0.3, 0.9], [0.5, 0.2]])
    delta = np.array([[0.3, NAN], [NAN, -0.3], [0.1, 0.2]])
    write_probe(con, ["x", "y"], source, delta)
    out = np.array([[[0.8, 0.5]], [[0.3, 0.6]], [[0.5, 0.2]]])
    write_answers(con, ["x", "y"], out, model="llama", intervention="direct",
                  status=np.array([True, True, False]))
    write_answers(con, ["x", "y"], np.repeat(out, 2, axis=1), gen_hash="G2", model="gpt",
                  intervention="best2")
    text = format_summary(con)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["model", "intervention", "n", "errors/calls"]
    assert lines[0].split()[4] == "unscored"
    assert [line.split()[:5] for line in lines[2:]] == [["gpt", "best2", "3", "0/6", "0"],
                                                       ["llama", "direct", "2", "1/3", "0"]]
    # llama's two scored answers: median (IQR) from the numpy reference
    se = [answer_metrics(source[i], delta[i], source[i] + delta[i], out[i, 0])["steering_error"]
          for i in range(2)]
    median, iqr = np.median(se), np.percentile(se, 75) - np.percentile(se, 25)
    assert f"{median:.3f} ({iqr:.3f})" in lines[3]
    rows = {(r["model"], r["intervention"]): r for r in summary_rows(con)}
    assert rows["llama", "direct"]["steering_error_median"] == median
    con.close()


def test_summary_before_anything_is_scored(tmp_path):
    con = new_store(tmp_path / "s.duckdb")
    write_probe(con, ["x"], np.array([[0.5]]), np.array([[0.3]]))
    write_answers(con, ["x"], np.array([[[0.8]]]), status=np.array([False]))
    line = format_summary(con).splitlines()[2].split()
    assert line == ["m", "i", "0", "1/1", "0", "0", "-", "-", "-"]
    con.close()


def test_summary_counts_answers_without_scores(tmp_path):
    from steerdsl.store.summary import unscored_answers

    con = new_store(tmp_path / "s.duckdb")
    # row 1: a source value is missing (a probe drawn by an older version)
    source = np.array([[0.5, 0.5], [0.3, NAN], [0.5, 0.2]])
    delta = np.array([[0.3, NAN], [0.2, NAN], [0.1, 0.2]])
    write_probe(con, ["x", "y"], source, delta)
    # row 0, sample 1: the answer's value of y failed; row 2, sample 1: a failed call
    out = np.array([[[0.8, 0.5], [0.8, NAN]], [[0.3, 0.6], [0.3, 0.6]],
                    [[0.5, 0.2], [0.5, 0.2]]])
    write_answers(con, ["x", "y"], out, status=np.array([[True, True], [True, True],
                                                         [True, False]]))
    assert unscored_answers(con) == 3
    (row,) = summary_rows(con)
    assert (row["calls"], row["errors"], row["unscored"]) == (6, 1, 3)
    assert format_summary(con).splitlines()[2].split()[:5] == ["m", "i", "2", "1/6", "3"]
    con.close()


def test_truncated_answers_are_counted_flagged_and_dropped_on_request(tmp_path):
    con = new_store(tmp_path / "s.duckdb")
    source = np.array([[0.5, 0.5], [0.3, 0.9], [0.5, 0.2]])
    delta = np.array([[0.3, NAN], [NAN, -0.3], [0.1, 0.2]])
    write_probe(con, ["x", "y"], source, delta)
    # two samples per row; row 0's better sample (0) and row 2's sample 1 were cut off
    out = np.array([[[0.8, 0.5], [0.1, 0.1]], [[0.3, 0.6], [0.3, 0.6]],
                    [[0.9, 0.9], [0.6, 0.4]]])
    truncated = np.array([[True, False], [False, False], [False, True]])
    write_answers(con, ["x", "y"], out, model="llama", intervention="best2",
                  truncated=truncated)
    assert con.execute("SELECT calls, ok, truncated FROM calls_summary").fetchall() == [
        (6, 6, 2)]
    flagged = con.execute("SELECT row_id, sample, truncated FROM metrics ORDER BY ALL").fetchall()
    assert flagged == [(0, 0, True), (0, 1, False), (1, 0, False), (1, 1, False),
                       (2, 0, False), (2, 1, True)]
    assert con.execute("SELECT DISTINCT row_id, sample FROM answers WHERE truncated "
                       "ORDER BY ALL").fetchall() == [(0, 0), (2, 1)]
    selected = con.execute("SELECT row_id, sample FROM metrics WHERE selected "
                           "ORDER BY ALL").fetchall()
    assert selected == [(0, 0), (1, 0), (2, 1)]  # truncated or not: scored (the default)
    lines = format_summary(con).splitlines()
    assert lines[2].split()[:6] == ["llama", "best2", "3", "0/6", "0", "2"]
    assert lines[3] == ("note: 2 answers of llama/best2 cut off (finish_reason 'length'): "
                        "scored, flagged in metrics.truncated; `truncated drop` in the model "
                        "or intervention leaves them out")

    # `truncated drop` (recorded by the score stage): not scored, so not selectable
    con.execute("INSERT INTO scorings VALUES ('G1', 'drop')")
    assert con.execute("SELECT row_id, sample FROM metrics ORDER BY ALL").fetchall() == [
        (0, 1), (1, 0), (1, 1), (2, 0)]
    assert con.execute("SELECT count(*) FROM metrics WHERE truncated").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM answers WHERE truncated").fetchall() == [(0,)]
    assert con.execute("SELECT row_id, sample FROM metrics WHERE selected "
                       "ORDER BY ALL").fetchall() == [(0, 1), (1, 0), (2, 0)]
    assert con.execute("SELECT truncated FROM calls_summary").fetchall() == [(2,)]
    lines = format_summary(con).splitlines()
    assert lines[2].split()[:6] == ["llama", "best2", "3", "0/6", "0", "2"]
    assert lines[3] == ("note: 2 answers of llama/best2 cut off (finish_reason 'length'): "
                        "left out of the metrics (truncated drop)")
    con.close()
