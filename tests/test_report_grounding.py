"""The report's groundedness section, from verdicts and reviews written into a synthetic
store: the counts per model x intervention, the flagged rewrites with their rationales, and
the figures restricted to grounded answers like the summary view."""

from __future__ import annotations

import re

import pytest

from steerdsl.report import render_report
from steerdsl.store.db import open_store
from support.grounding import answer_keys, ground, review, verdict
from support.synthetic_store import write_synthetic_store


@pytest.fixture(scope="module")
def grounded(tmp_path_factory):
    path = tmp_path_factory.mktemp("report-grounding") / "store.duckdb"
    s = write_synthetic_store(path, failed_fraction=0.0)
    con = open_store(path)
    direct = s.gen_hashes[("llama", "direct")]
    ground(con, direct)
    keys = answer_keys(con, direct)
    for (row_id, sample), key in keys.items():
        if row_id == 1:
            verdict(con, key, "no", rationale="The rewrite is about a different <meeting>.")
        elif row_id == 2:
            verdict(con, key, None)  # unreadable
            review(con, key, "approve")
        else:
            verdict(con, key, "yes")
    con.close()
    return path, s


def test_counts_and_flagged_rewrites(grounded):
    path, s = grounded
    page = render_report([path])
    section = page[page.index("id='s0-grounding'"):]
    section = section[:section.index("</section>")]
    row = re.search(r"<tr><td>llama</td><td>direct</td><td>meaning</td>(.*?)</tr>", section)
    cells = re.findall(r"<td class='num'>([\d,]+)</td>", row.group(1))
    # judged, flagged, unparsed, awaiting review, overruled, dropped, not judged yet
    # (the approved unreadable verdict is no overruling: only a rejected Yes or an approved No)
    assert cells == [str(s.probe_rows), "1", "1", "1", "0", "1", "0"]
    assert "The rewrite is about a different &lt;meeting&gt;." in section
    assert "verdict unreadable · approved by a reviewer" in section
    assert "1 verdict awaits a person's review" in section
    assert "href='#s0-grounding'" in page  # in the table of contents


def test_figures_count_only_grounded_answers(grounded):
    """The figures' answers are the summary view's: selected and grounded (the "No" of probe
    row 1 is left out; the unreadable verdict a person approved stays)."""
    from steerdsl.report.load.views import SELECTED_TABLE, materialize

    path, s = grounded
    con = open_store(path, read_only=True)
    try:
        materialize(con)
        direct = s.gen_hashes[("llama", "direct")]
        shown = con.execute(f"SELECT DISTINCT row_id FROM {SELECTED_TABLE} WHERE gen_hash = ?",
                            [direct]).fetchall()
        other = con.execute(f"SELECT count(DISTINCT row_id) FROM {SELECTED_TABLE} "
                            "WHERE gen_hash <> ?", [direct]).fetchone()[0]
        n = con.execute("SELECT max(n) FROM summary WHERE model = 'llama' AND "
                        "intervention = 'direct'").fetchone()[0]
    finally:
        con.close()
    assert sorted(r for (r,) in shown) == [r for r in range(s.probe_rows) if r != 1]
    assert n == s.probe_rows - 1
    assert other > 0  # generations without a judge keep every selected answer


def test_no_section_without_a_judge(tmp_path):
    path = tmp_path / "plain.duckdb"
    write_synthetic_store(path, failed_fraction=0.0)
    page = render_report([path])
    assert "Groundedness" not in page and "-grounding'" not in page
