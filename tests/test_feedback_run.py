"""Closed-loop feedback end to end on the loopback server, whose rewriter overshoots length,
undershoots word length, and revises its answer by what the feedback says
(support/feedback_rewriter.py): feedback lowers the median steering error of `direct`,
every round is stored and queryable, and a rerun asks for nothing."""

from __future__ import annotations

from collections import Counter

import html
import re
from pathlib import Path

import pytest

import steerdsl
from steerdsl.report import render_report
from steerdsl.run.runner import run_plan
from steerdsl.store.db import open_store
from support import feedback_rewriter
from support.fake_openai import FakeOpenAI, Reply
from support.feedback_specs import conversation_key, round_of, write_spec

METRICS = "steering_error, miscalibration, orthogonality, steering_error_raw"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One run of direct and loop (feedback 2 rounds) over 24 probe rows, and its server log."""
    folder = tmp_path_factory.mktemp("feedback")
    with FakeOpenAI(default=feedback_rewriter.default) as server:
        plan = steerdsl.load(write_spec(folder, server.url)).plan()
        result = run_plan(plan, quiet=True)
        log = [r.body for r in server.requests()]
        again = run_plan(plan, quiet=True)
        rerun_requests = server.count() - len(log)
    con = open_store(folder / "fb.duckdb", read_only=True)
    yield {"result": result, "again": again, "log": log, "con": con, "plan": plan,
           "rerun_requests": rerun_requests, "store": folder / "fb.duckdb"}
    con.close()


def test_feedback_lowers_the_median_steering_error_of_direct(finished):
    con = finished["con"]
    assert finished["result"].status == "ok"
    medians = dict(con.execute(
        "SELECT intervention, median FROM summary WHERE metric = 'steering_error'").fetchall())
    # binned steering error (deterministic): one bin off for direct, on target after feedback
    assert medians == {"direct": pytest.approx(1 / 7), "loop": 0.0}
    raw = dict(con.execute(
        "SELECT intervention, median FROM summary WHERE metric = 'steering_error_raw'"
    ).fetchall())
    assert raw["loop"] < raw["direct"] / 2


def test_every_round_is_stored_once_and_requested_once(finished):
    con, log = finished["con"], finished["log"]
    rounds = dict(con.execute("SELECT round, count(*) FROM feedback_rounds WHERE status = 'ok' "
                              "GROUP BY ALL").fetchall())
    assert rounds[0] == 24 and 0 < rounds[2] < rounds[1] < 24  # most land after one revision
    sent = Counter(round_of(b) for b in log)
    assert sent == {0: 48, 1: rounds[1], 2: rounds[2]}  # direct's 24 and loop's 24 at round 0
    keys = Counter(conversation_key(b) for b in log if round_of(b) > 0)
    assert set(keys.values()) == {1}
    # the rerun asked for nothing
    assert finished["again"].status == "ok" and finished["rerun_requests"] == 0


def test_a_revision_continues_the_conversation(finished):
    con, log = finished["con"], finished["log"]
    body = next(b for b in log if round_of(b) == 2)
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    prompt = body["messages"][0]["content"]
    stored = con.execute("SELECT round, prompt, answer FROM feedback_rounds WHERE row_id = "
                         "(SELECT row_id FROM feedback_rounds WHERE round = 0 AND prompt = ?) "
                         "ORDER BY round", [prompt]).fetchall()
    assert [m["content"] for m in body["messages"]] == [
        stored[0][1], stored[0][2], stored[1][1], stored[1][2], stored[2][1]]
    assert stored[1][1].startswith("Your rewrite did not change the text as asked. ")


def test_calls_hold_the_last_answer_and_every_rounds_tokens(finished):
    con = finished["con"]
    gen = finished["plan"].stage("generate:fake/loop").hash
    rows = con.execute("""
        SELECT c.answer, c.completion_tokens, c.prompt_tokens,
               (SELECT arg_max(f.answer, f.round) FROM feedback_rounds f
                WHERE f.gen_hash = c.gen_hash AND f.row_id = c.row_id AND f.status = 'ok'),
               (SELECT sum(f.completion_tokens) FROM feedback_rounds f
                WHERE f.gen_hash = c.gen_hash AND f.row_id = c.row_id),
               (SELECT sum(f.prompt_tokens) FROM feedback_rounds f
                WHERE f.gen_hash = c.gen_hash AND f.row_id = c.row_id)
        FROM calls c WHERE c.gen_hash = ?""", [gen]).fetchall()
    assert len(rows) == 24
    for answer, completion, prompt, last, completion_sum, prompt_sum in rows:
        assert (answer, completion, prompt) == (last, completion_sum, prompt_sum)


def same(a: list[tuple], b: list[tuple]) -> bool:
    """Equal rows up to the order of floating-point sums (the views sum goal by goal)."""
    return len(a) == len(b) and all(x == pytest.approx(y, rel=1e-12, abs=1e-15)
                                    for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def test_rounds_are_queryable_with_the_same_metrics(finished):
    con = finished["con"]
    by_round = con.execute(f"SELECT round, row_id, {METRICS} FROM feedback_metrics "
                           "ORDER BY round, row_id").fetchall()
    assert {r[0] for r in by_round} == {0, 1, 2} and len(by_round) == 72
    last = [r[1:] for r in by_round if r[0] == 2]
    scored = con.execute(f"SELECT row_id, {METRICS} FROM metrics WHERE intervention = 'loop' "
                         "ORDER BY row_id").fetchall()
    assert same(last, scored)
    # round 0 is the plain answer: what `direct` got (the rewriter ignores the intents' order)
    first = [r[1:] for r in by_round if r[0] == 0]
    direct = con.execute(f"SELECT row_id, {METRICS} FROM metrics WHERE intervention = 'direct' "
                         "ORDER BY row_id").fetchall()
    assert same(first, direct)
    medians = con.execute("SELECT round, median FROM feedback_summary WHERE metric = "
                          "'steering_error_raw' ORDER BY round").fetchall()
    assert medians[0][1] > medians[1][1] >= medians[2][1]


def test_the_report_shows_the_metrics_by_round(finished):
    con = finished["con"]
    page = render_report([finished["store"]])
    table = re.search(r"<table class='feedback'>(.*?)</table>", page, re.S).group(1)
    cells = [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                          row, re.S)]
             for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    expected = []
    for r in (0, 1, 2):
        stats = dict(con.execute("SELECT metric, (median, q3 - q1) FROM feedback_summary "
                                 "WHERE round = ?", [r]).fetchall())
        requests = con.execute("SELECT count(*) FROM feedback_rounds WHERE round = ?",
                               [r]).fetchone()[0]
        expected.append([str(r), str(requests)] + [
            f"{stats[m][0]:.3f} ({stats[m][1]:.3f})"
            for m in ("steering_error", "miscalibration", "orthogonality")])
    assert cells == expected
    assert "Closed-loop feedback</a>" in page  # in the table of contents


def test_the_documented_columns_are_the_views(finished):
    text = (Path(__file__).resolve().parents[1] / "docs" / "sql.md").read_text()
    section = text.split("### Closed-loop feedback: `feedback_metrics`")[1].split("###")[0]
    documented = []
    for line in section.splitlines():
        m = re.match(r"\| (`[^|]+`) \|", line)
        if m:
            documented += re.findall(r"`(\w+)`", m.group(1))
    actual = [d[0] for d in finished["con"].execute(
        "SELECT * FROM feedback_metrics LIMIT 0").description]
    assert documented == actual


def test_every_round_counts_toward_the_budget(tmp_path):
    """$1000 per million tokens: round 0's 24 answers cost about $2.5; a budget of $3.5 stops
    the loop during round 1. Spending so far counts on the next run, revisions included."""
    with FakeOpenAI(default=feedback_rewriter.default) as server:
        spec = write_spec(tmp_path, server.url, interventions="loop", budget=3.5, price=1000)
        result = run_plan(steerdsl.load(spec).plan(), quiet=True)
        assert result.status == "budget"
        first = [conversation_key(r.body) for r in server.requests()]
        con = open_store(tmp_path / "fb.duckdb", read_only=True)
        spent, rounds_cost, revisions = con.execute(
            "SELECT (SELECT sum(cost) FROM calls), (SELECT sum(cost) FROM feedback_rounds), "
            "(SELECT count(*) FROM feedback_rounds WHERE round > 0)").fetchone()
        con.close()
        assert 0 < revisions < 19 and spent == pytest.approx(rounds_cost)
        assert 3.5 <= spent < 3.5 + 4 * 0.5  # at most the requests in flight beyond it
        # more budget: the loop goes on where it stopped
        spec = write_spec(tmp_path, server.url, interventions="loop", budget=50, price=1000)
        assert run_plan(steerdsl.load(spec).plan(), quiet=True).status == "ok"
        later = [conversation_key(r.body) for r in server.requests()][len(first):]
        assert not set(later) & set(first) and len(set(later)) == len(later)


def test_a_failed_round_is_stored_and_asked_again_with_retry_errors(tmp_path):
    refuse = [True]

    def answer(request):
        if refuse[0] and round_of(request.body) == 1:
            return Reply.error(400)  # the request itself is wrong: not retried
        return feedback_rewriter.default(request)

    with FakeOpenAI(default=answer) as server:
        plan = steerdsl.load(write_spec(tmp_path, server.url, interventions="loop")).plan()
        assert run_plan(plan, quiet=True).status == "incomplete"
        con = open_store(tmp_path / "fb.duckdb", read_only=True)
        failed = con.execute("SELECT count(*) FROM feedback_rounds WHERE status = 'error' "
                             "AND round = 1").fetchone()[0]
        # the scored answers are the first ones: their conversations stopped at the failure
        scored = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
        con.close()
        assert 0 < failed < 24 and scored == 24
        seen = server.count()
        assert run_plan(plan, quiet=True).status == "incomplete"  # errors are kept
        assert server.count() == seen
        refuse[0] = False
        assert run_plan(plan, quiet=True, retry_errors=True).status == "ok"
        asked = Counter(round_of(r.body) for r in server.requests()[seen:])
        assert asked[1] == failed and asked[0] == 0
        con = open_store(tmp_path / "fb.duckdb", read_only=True)
        assert con.execute("SELECT count(*) FROM feedback_rounds WHERE status = 'error'"
                           ).fetchone()[0] == 0
        con.close()
