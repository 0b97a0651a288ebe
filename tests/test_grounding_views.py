"""The grounded filter through the SQL views, case by case: verdict (yes / no / unparsed, two
orders agreeing or not, a failed request) x a person's decision (none / approve / reject) x
drawn for the spot check or not; which answers the judge is asked about (candidates); and what
`summary`, `summary_all` and `grounding_summary` make of it."""

from __future__ import annotations

import hashlib

import pytest

from steerdsl.store.db import open_store
from support.grounding import answer_keys, ground, review, verdict
from support.synthetic_store import write_synthetic_store

SPOT = 3


def _spot_order(gen_hash: str, rows: list[int]) -> list[int]:
    """The spot check's draw order (sample 0): md5 of gen_hash:row_id:sample."""
    return sorted(rows, key=lambda r: (hashlib.md5(f"{gen_hash}:{r}:0".encode()).hexdigest(), r))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("grounding") / "store.duckdb"
    s = write_synthetic_store(path, failed_fraction=0.0)
    con = open_store(path)
    direct = s.gen_hashes[("llama", "direct")]
    keys = answer_keys(con, direct)
    ground(con, direct, spot_check=SPOT)
    k = {r: keys[(r, 0)] for r in range(s.probe_rows)}
    # one question per answer (order random)
    for r, v in [(3, "no"), (4, "no"), (5, "no"), (6, None), (7, None), (8, None)]:
        verdict(con, k[r], v)
    # two questions (order both): agreeing, disagreeing, one unparsed
    for r, (a, b) in {9: ("yes", "no"), 10: ("no", "no"), 11: ("no", None)}.items():
        verdict(con, k[r], a, swapped=False)
        verdict(con, k[r], b, swapped=True)
    # a failed request (asked again by the next run): not judged, even beside an ok answer
    verdict(con, k[12], None, status="error")
    verdict(con, k[13], "yes", swapped=False)
    verdict(con, k[13], None, swapped=True, status="error")
    # "yes" answers, one of them asked twice: the spot check draws SPOT of them
    yes_rows = [0, 1, 2, 14, 15, 16, 17, 18, 19, 20]
    for r in yes_rows:
        verdict(con, k[r], "yes", swapped=False)
    verdict(con, k[20], "yes", swapped=True)
    order = _spot_order(direct, yes_rows)
    drawn, undrawn = order[:SPOT], order[SPOT:]
    decisions = {drawn[1]: "approve", drawn[2]: "reject", undrawn[0]: "approve",
                 undrawn[1]: "reject", 4: "approve", 5: "reject", 7: "approve", 8: "reject",
                 9: "approve"}
    for r, d in decisions.items():
        review(con, k[r], d)
    # rows 21.. of llama/direct: not judged yet
    con.close()
    return {"path": path, "s": s, "drawn": drawn, "undrawn": undrawn, "keys": k}


@pytest.fixture
def con(store):
    c = open_store(store["path"], read_only=True)
    yield c
    c.close()


def _grounding(con, model="llama", intervention="direct") -> dict[int, tuple]:
    rows = con.execute("SELECT row_id, verdict, parsed, needs_review, decision, grounded "
                       "FROM grounding WHERE model = ? AND intervention = ?",
                       [model, intervention]).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_each_case_of_the_truth_table(store, con):
    drawn, undrawn = store["drawn"], store["undrawn"]
    expected = {
        # row: (verdict, parsed, needs_review, decision, grounded)
        drawn[0]: ("yes", True, True, None, True),         # spot-checked, waiting: grounded
        drawn[1]: ("yes", True, True, "approve", True),
        drawn[2]: ("yes", True, True, "reject", False),
        undrawn[0]: ("yes", True, False, "approve", True),
        undrawn[1]: ("yes", True, False, "reject", False),  # a decision counts wherever it is
        3: ("no", True, True, None, False),
        4: ("no", True, True, "approve", True),             # overruled
        5: ("no", True, True, "reject", False),
        6: (None, False, True, None, False),                # unparsed: not grounded until decided
        7: (None, False, True, "approve", True),
        8: (None, False, True, "reject", False),
        9: (None, True, True, "approve", True),             # the two orders disagree
        10: ("no", True, True, None, False),                # both orders say no
        11: (None, False, True, None, False),               # one order unparsed
    }
    for r in undrawn[2:]:
        expected[r] = ("yes", True, False, None, True)
    assert _grounding(con) == expected


def test_metrics_grounded_column(store, con):
    got = dict(con.execute("SELECT row_id, grounded FROM metrics WHERE model = 'llama' "
                           "AND intervention = 'direct'").fetchall())
    table = _grounding(con)
    for r in range(store["s"].probe_rows):
        # not judged yet (no verdict, or a failed request still to ask again): NULL
        assert got[r] == (table[r][4] if r in table else None), r
    assert 12 not in table and 13 not in table
    # generations without a judge: NULL throughout
    assert con.execute("SELECT count(grounded) FROM metrics WHERE NOT (model = 'llama' "
                       "AND intervention = 'direct')").fetchall() == [(0,)]


def test_summary_counts_only_grounded_answers_of_a_grounded_generation(store, con):
    n_grounded = sum(1 for v in _grounding(con).values() if v[4])
    rows = con.execute("SELECT model, intervention, s.n, a.n FROM summary s "
                       "JOIN summary_all a USING (model, intervention, metric) "
                       "WHERE metric = 'steering_error' ORDER BY 1, 2").fetchall()
    rows_per_gen = store["s"].probe_rows
    assert rows == [("gpt", "best4", rows_per_gen, rows_per_gen),
                    ("gpt", "direct", rows_per_gen, rows_per_gen),
                    ("llama", "best4", rows_per_gen, rows_per_gen),
                    ("llama", "direct", n_grounded, rows_per_gen)]
    # the values are those of the grounded answers
    (median,) = con.execute("SELECT median(steering_error) FROM metrics WHERE model = 'llama' "
                            "AND intervention = 'direct' AND selected AND grounded").fetchone()
    assert con.execute("SELECT median FROM summary WHERE model = 'llama' AND intervention = "
                       "'direct' AND metric = 'steering_error'").fetchone() == (
        pytest.approx(median),)


def test_grounding_summary_counts(con):
    rows = con.execute("SELECT model, intervention, judge, judged, flagged, unparsed, "
                       "awaiting_review, overruled, dropped, not_judged "
                       "FROM grounding_summary").fetchall()
    # judged: 10 yes + 3 no + 3 unparsed + 3 order-both = 19; flagged: rows 3, 4, 5, 10;
    # unparsed: 6, 7, 8, 9, 11; awaiting: drawn[0], 3, 6, 10, 11; overruled: drawn[2],
    # undrawn[1], 4 (no -> approve); dropped: drawn[2], undrawn[1], 3, 5, 6, 8, 10, 11;
    # not judged: rows 12, 13 and 21..31
    assert rows == [("llama", "direct", "meaning", 19, 4, 5, 5, 3, 8, 2 + 11)]


def test_stores_without_groundings_keep_their_summary(tmp_path):
    path = tmp_path / "plain.duckdb"
    write_synthetic_store(path)
    con = open_store(path, read_only=True)
    try:
        assert con.execute("SELECT * FROM summary EXCEPT SELECT * FROM summary_all").fetchall() \
            == []
        assert con.execute("SELECT count(*) FROM summary").fetchone() == (28,)
        assert con.execute("SELECT count(*) FROM grounding").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM grounding_summary").fetchone() == (0,)
        assert con.execute("SELECT count(grounded) FROM metrics").fetchone() == (0,)
    finally:
        con.close()


def _write_best4(tmp_path, candidates: str):
    path = tmp_path / f"{candidates}.duckdb"
    s = write_synthetic_store(path, failed_fraction=0.0)
    con = open_store(path)
    gen = s.gen_hashes[("gpt", "best4")]
    keys = answer_keys(con, gen)
    ground(con, gen, candidates=candidates)
    for sample in range(4):
        verdict(con, keys[(0, sample)], "no" if sample % 2 else "yes")
    selected = con.execute("SELECT sample FROM metrics WHERE gen_hash = ? AND row_id = 0 "
                           "AND selected", [gen]).fetchone()[0]
    con.close()
    return path, selected


def test_candidates_selected_judges_only_the_selected_answer(tmp_path):
    path, selected = _write_best4(tmp_path, "selected")
    con = open_store(path, read_only=True)
    try:
        assert con.execute("SELECT row_id, sample, verdict FROM grounding").fetchall() == [
            (0, selected, "no" if selected % 2 else "yes")]
        assert con.execute("SELECT sample, grounded FROM metrics WHERE model = 'gpt' AND "
                           "intervention = 'best4' AND row_id = 0 ORDER BY sample").fetchall() \
            == [(k, (k % 2 == 0) if k == selected else None) for k in range(4)]
    finally:
        con.close()


def test_candidates_all_judges_every_answer(tmp_path):
    path, _ = _write_best4(tmp_path, "all")
    con = open_store(path, read_only=True)
    try:
        assert con.execute("SELECT sample, verdict, grounded, needs_review FROM grounding "
                           "ORDER BY sample").fetchall() == [
            (0, "yes", True, False), (1, "no", False, True), (2, "yes", True, False),
            (3, "no", False, True)]
    finally:
        con.close()


def test_console_summary_says_what_awaits_review(store, con):
    from steerdsl.store.summary import format_summary

    text = format_summary(con)
    assert ("groundedness of llama/direct (judge meaning): 19 judged, 4 flagged No, "
            "5 unparsed, 3 overruled, 8 not grounded") in text
    assert "judging is incomplete: 13 answers of llama/direct without a verdict yet" in text
    assert "5 items await review: `steerdsl review SPEC`" in text
    assert "groundedness of gpt" not in text


def test_console_summary_of_a_store_without_groundings(tmp_path):
    from steerdsl.store.summary import format_summary

    path = tmp_path / "plain.duckdb"
    write_synthetic_store(path)
    con = open_store(path, read_only=True)
    try:
        text = format_summary(con)
    finally:
        con.close()
    assert "groundedness" not in text and "review" not in text


def test_documented_columns_match_the_grounding_views(con):
    """docs/sql.md lists the columns of `grounding` and `grounding_summary`, in order."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "sql.md").read_text(encoding="utf-8")
    for view, opening in (("grounding", "`grounding`: one row per"),
                          ("grounding_summary", "`grounding_summary`: one row per")):
        table = text.split(opening)[1].split("\n\n", 2)[1]
        names = " ".join(re.findall(r"^\| (`[^|]+`) \|", table, re.M))
        documented = re.findall(r"`(\w+)`", names)
        actual = [d[0] for d in con.execute(f"SELECT * FROM {view} LIMIT 0").description]
        assert documented == actual, view
