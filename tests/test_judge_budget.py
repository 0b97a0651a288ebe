"""LLM-judged goals count toward the budget: every judge request is charged to the run's
Ledger and stored in judge_calls; texts left unjudged when the budget runs out are not cached
as failures, and a later run judges them. The loopback server, real DuckDB files."""

from __future__ import annotations

import math

import pytest

from steerdsl.goals.judge import JudgeNotAsked, judge_prompt, make_judge
from steerdsl.goals.measure import measure_texts
from steerdsl.llm.budget import Ledger
from steerdsl.plan.model import FixedNorm, GoalPlan, JudgeMeasure, Price
from steerdsl.prices import declared_cost
from steerdsl.store.db import open_store
from steerdsl.store.judge_calls import judge_spent, record_judge_calls
from steerdsl.texts import text_hash
from support.fake_openai import FakeOpenAI, Reply
from support.gen_plans import fake_model, intervention, make_plan

PRICE = Price(input_per_mtok=10_000, output_per_mtok=20_000)  # a cent per prompt word
GOAL = GoalPlan(name="politeness",
                measure=JudgeMeasure(model="fake", rubric="How polite is this, from 0 to 10?",
                                     scale_lo=0, scale_hi=10),
                normalize=FixedNorm(lo=0, hi=10), measure_id="judge-politeness-1")
TEXTS = [f"Text {c}" for c in "ABCDEF"]


def cost_of(text: str) -> float:
    """One judge request about `text`, answered "7" (the server counts words as tokens)."""
    prompt = judge_prompt(GOAL.measure, text)
    return declared_cost(PRICE.input_per_mtok, PRICE.output_per_mtok, len(prompt.split()), 1)


@pytest.fixture
def server():
    with FakeOpenAI(default=Reply.ok("7")) as s:
        yield s


@pytest.fixture
def plan(server):
    return make_plan([fake_model(server.url, price=PRICE, concurrency=1)], [intervention()])


def judge_for(plan, con, ledger: Ledger):
    return make_judge(plan, ledger=ledger, record=lambda calls: record_judge_calls(con, calls))


def stored_calls(con) -> list[tuple]:
    return con.execute("SELECT measure_id, text_hash, model, prompt_tokens, completion_tokens, "
                       "cost, latency_s > 0, judged_at IS NOT NULL FROM judge_calls "
                       "ORDER BY text_hash").fetchall()


def cached(con) -> dict[str, tuple]:
    return {h: (raw, err) for h, raw, err in con.execute(
        "SELECT text_hash, raw, error FROM measurements WHERE measure_id = ?",
        [GOAL.measure_id]).fetchall()}


def test_judge_costs_are_charged_and_stored(server, plan, con):
    ledger = Ledger(limit_usd=10.0, spent_usd=0.5)
    got = measure_texts(TEXTS, [GOAL], con=con, judge=judge_for(plan, con, ledger))
    assert list(got.raw["politeness"]) == [7.0] * 6 and got.errors == got.unmeasured == []
    expected = sorted(
        (GOAL.measure_id, text_hash(t), "fake", len(judge_prompt(GOAL.measure, t).split()), 1,
         pytest.approx(cost_of(t)), True, True) for t in TEXTS)
    assert stored_calls(con) == expected
    spent = sum(cost_of(t) for t in TEXTS)
    assert ledger.spent == pytest.approx(0.5 + spent)
    assert judge_spent(con, [GOAL.measure_id, "other"]) == pytest.approx(spent)
    assert judge_spent(con, ["other"]) == 0.0 and judge_spent(con, []) == 0.0
    # Cached values cost nothing more.
    measure_texts(TEXTS, [GOAL], con=con, judge=judge_for(plan, con, ledger))
    assert server.count() == 6 and len(stored_calls(con)) == 6


def test_a_failed_answer_is_paid_and_cached_as_a_failure(server, plan, con):
    server.script("Text B", Reply.ok("no idea"))
    ledger = Ledger(limit_usd=10.0)
    got = measure_texts(TEXTS[:2], [GOAL], con=con, judge=judge_for(plan, con, ledger))
    assert [e.index for e in got.errors] == [1] and "no number" in got.errors[0].message
    assert len(stored_calls(con)) == 2 and ledger.spent == pytest.approx(judge_spent(
        con, [GOAL.measure_id]))
    assert cached(con)[text_hash("Text B")][1].startswith("judge failed: JudgeFailed")


def test_judging_stops_when_the_budget_runs_out_and_resumes(server, plan, con):
    limit = 1.5 * cost_of("Text A")  # reached by the second answer (one request at a time)
    ledger = Ledger(limit_usd=limit)
    got = measure_texts(TEXTS, [GOAL], con=con, judge=judge_for(plan, con, ledger))
    assert server.count() == 2 and ledger.exhausted
    raw = got.raw["politeness"]
    assert list(raw[:2]) == [7.0, 7.0] and all(math.isnan(x) for x in raw[2:])
    # Not failures: nothing cached for the unjudged texts, and they are reported apart.
    assert got.errors == [] and got.retryable == 0
    assert [(e.index, e.goal) for e in got.unmeasured] == [(i, "politeness") for i in range(2, 6)]
    assert all(e.message.startswith("not judged: budget $") for e in got.unmeasured)
    assert set(cached(con)) == {text_hash("Text A"), text_hash("Text B")}
    spent = judge_spent(con, [GOAL.measure_id])
    assert spent == pytest.approx(ledger.spent) and len(stored_calls(con)) == 2

    # A later run with more budget, starting from what the store says was spent, judges
    # only the texts left unjudged (no --retry-errors needed).
    ledger = Ledger(limit_usd=10.0, spent_usd=spent)
    got = measure_texts(TEXTS, [GOAL], con=con, judge=judge_for(plan, con, ledger))
    assert list(got.raw["politeness"]) == [7.0] * 6 and got.unmeasured == []
    assert got.cached == 2 and server.count() == 6 and set(server.counts().values()) == {1}
    assert ledger.spent == pytest.approx(judge_spent(con, [GOAL.measure_id]))
    assert ledger.spent == pytest.approx(sum(cost_of(t) for t in TEXTS))


def test_an_exhausted_budget_sends_nothing(server, plan, con):
    judge = judge_for(plan, con, Ledger(limit_usd=1.0, spent_usd=1.0))
    assert all(isinstance(r, JudgeNotAsked) for r in judge(GOAL, TEXTS))
    got = measure_texts(TEXTS, [GOAL], con=con, judge=judge)
    assert len(got.unmeasured) == 6 and got.errors == []
    assert server.count() == 0 and cached(con) == {} and stored_calls(con) == []


def test_an_older_store_gets_the_table(tmp_path):
    path = tmp_path / "old.duckdb"
    con = open_store(path)
    con.execute("DROP TABLE judge_calls")  # what a store looked like before it
    con.close()
    ro = open_store(path, read_only=True)
    try:
        assert ro.execute("SELECT count(*) FROM judge_calls").fetchall() == [(0,)]
        assert judge_spent(ro, [GOAL.measure_id]) == 0.0
    finally:
        ro.close()
    rw = open_store(path)
    try:
        assert rw.execute("SELECT count(*) FROM judge_calls").fetchall() == [(0,)]
    finally:
        rw.close()
