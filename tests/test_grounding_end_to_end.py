"""Groundedness end to end, as a user does it: a spec with a judge block and `grounding`,
`steerdsl run` against the loopback server (the judge answers JSON in a fence with a trailing
comma, plain JSON, garbage and a bare Yes), the views, `steerdsl review --export/--import`,
a rerun that asks the judge nothing, and the report."""

from __future__ import annotations

import csv
import json

from steerdsl.cli import main
from support.fake_openai import FakeOpenAI, Reply
from support.stores import read_rows

SPEC = """
experiment grounded {{ seed 3  store "grounded.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{ length = char_count normalize 0..400 }}
probe p from c {{ sources 4 unweighted  requests 1 per source  active 1 }}
model writer {{ litellm "openai/fake"  api_base "{url}"  concurrency 4 }}
model tiny {{ litellm "openai/fake"  api_base "{url}"  concurrency 1 }}
judge meaning {{ model tiny  prompt groundedness  order random  spot_check 1 }}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models writer  interventions direct  grounding meaning }}
"""

JUDGE = "Below are two versions of a text"
# one judge request at a time (concurrency 1), in the order of the probe rows
ANSWERS = ['```json\n{"Answer": "YES", "rationale": "the same meeting",}\n```',
           '{"answer": "No", "rationale": "about something else"}',
           "I would rather not say.",
           "Yes"]


def test_judge_review_and_report(tmp_path, capsys):
    with open(tmp_path / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(4):
            f.write(json.dumps({"text": f"Note {i}. The committee met on a rainy day "
                                        f"{'and talked' * i}."}) + "\n")
    db = tmp_path / "grounded.duckdb"
    with FakeOpenAI() as server:
        server.script(JUDGE, *[Reply.ok(a) for a in ANSWERS])
        spec = tmp_path / "grounded.steer"
        spec.write_text(SPEC.format(url=server.url), encoding="utf-8")
        assert main(["run", str(spec), "-q"]) == 0
        assert server.count(JUDGE) == 4
        out = capsys.readouterr().out
        assert "await" in out  # the console says items await review

        got = read_rows(db, "SELECT row_id, verdict, parsed, needs_review, grounded "
                            "FROM grounding ORDER BY row_id")
        spot = [r for r, v, _, review, _ in got if v == "yes" and review]
        assert [(r, v, p, g) for r, v, p, _, g in got] == [
            (0, "yes", True, True), (1, "no", True, False), (2, None, False, False),
            (3, "yes", True, True)]
        assert len(spot) == 1  # spot_check 1: one of the two "yes"
        assert read_rows(db, "SELECT judged, flagged, unparsed, awaiting_review, dropped "
                             "FROM grounding_summary") == [(4, 1, 1, 3, 2)]
        n = "SELECT max(n) FROM {} WHERE model = 'writer'"
        assert read_rows(db, n.format("summary")) == [(2,)]
        assert read_rows(db, n.format("summary_all")) == [(4,)]

        # A person decides through the CSV: the unreadable verdict was about the same text.
        exported = tmp_path / "review.csv"
        assert main(["review", str(spec), "--export", str(exported)]) == 0
        with open(exported, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 3
        for row in rows:
            row["decision"] = "approve" if row["verdict"] == "unparsed" else ""
        with open(exported, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        assert main(["review", str(spec), "--import", str(exported)]) == 0
        assert read_rows(db, n.format("summary")) == [(3,)]
        assert read_rows(db, "SELECT awaiting_review, dropped FROM grounding_summary") \
            == [(2, 1)]

        # A rerun asks the judge nothing; the report shows the section.
        capsys.readouterr()
        assert main(["run", str(spec), "-q"]) == 0
        assert server.count(JUDGE) == 4
        report = tmp_path / "r.html"
        assert main(["report", str(spec), "-o", str(report)]) == 0
        page = report.read_text(encoding="utf-8")
        assert "Groundedness" in page and "about something else" in page
        assert "4 judge requests" in page  # judging in the cost accounting
