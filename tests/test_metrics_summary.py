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
    assert line == ["m", "i", "0", "1/1", "0", "-", "-", "-"]
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
