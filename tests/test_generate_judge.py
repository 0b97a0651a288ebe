"""LLM-judged goals through the generate engine, against the loopback server, and through
measure_texts (cache, scale check)."""

from __future__ import annotations

import math

import pytest

from steerdsl.goals.judge import JudgeFailed, judge_prompt, make_judge, parse_score
from steerdsl.goals.measure import measure_texts
from steerdsl.plan.model import FixedNorm, GoalPlan, JudgeMeasure
from steerdsl.store.db import open_store
from support.fake_openai import FakeOpenAI, Reply
from support.gen_plans import fake_model, intervention, make_plan

RUBRIC = "How polite is this text, from 0 to 10?"


def polite_goal() -> GoalPlan:
    return GoalPlan(name="politeness",
                    measure=JudgeMeasure(model="fake", rubric=RUBRIC, scale_lo=0, scale_hi=10),
                    normalize=FixedNorm(lo=0, hi=10), measure_id="judge-politeness-1")


def test_parse_score():
    assert parse_score("7") == 7.0
    assert parse_score("Score: 8/10") == 8.0
    assert parse_score("<think>maybe 3?</think>\n9.5") == 9.5
    assert parse_score("-2 points") == -2.0
    with pytest.raises(JudgeFailed, match="no number"):
        parse_score("very polite")


def test_judge_prompt():
    measure = polite_goal().measure
    assert judge_prompt(measure, "Thanks a lot!") == (
        "How polite is this text, from 0 to 10? Reply with only the number.\n\nThanks a lot!")


def test_judge_through_measure_texts(tmp_path):
    with FakeOpenAI() as server:
        server.script("Text A", Reply.ok("7"))
        server.script("Text B", Reply.ok("Score: 8/10"))
        server.script("Text C", Reply.error(500), Reply.ok("<think>hmm 2</think>\n4"))
        server.script("Text D", Reply.ok("I cannot say."))
        server.script("Text E", Reply.ok("42"))  # outside the scale
        server.script("Text F", *[Reply.error(503)] * 3)  # fails past retries=2
        plan = make_plan([fake_model(server.url, retries=2)], [intervention()])
        goal = polite_goal()
        texts = ["Text A", "Text B", "Text C", "Text D", "Text E", "Text F"]
        con = open_store(tmp_path / "j.duckdb")
        got = measure_texts(texts, [goal], con=con, judge=make_judge(plan))
        raw = got.raw["politeness"]
        assert list(raw[:3]) == [7.0, 8.0, 4.0]
        assert all(math.isnan(x) for x in raw[3:])
        errors = {e.index: e.message for e in got.errors}
        assert "no number" in errors[3] and "outside the scale" in errors[4]
        assert "ServiceUnavailable" in errors[5] or "503" in errors[5]
        assert server.count("Text C") == 2 and server.count("Text F") == 3
        requests = server.count()
        # Cached: judged values are not asked again.
        again = measure_texts(texts[:3], [goal], con=con, judge=make_judge(plan))
        assert list(again.raw["politeness"]) == [7.0, 8.0, 4.0]
        assert server.count() == requests
        # Failures are stored with their errors and reported again, not judged again ...
        again = measure_texts(texts, [goal], con=con, judge=make_judge(plan))
        assert {e.index: e.message for e in again.errors} == errors
        assert server.count() == requests
        # ... unless asked: then only the failed texts are judged again.
        server.default = Reply.ok("5")
        again = measure_texts(texts, [goal], con=con, judge=make_judge(plan), retry_errors=True)
        assert list(again.raw["politeness"]) == [7.0, 8.0, 4.0, 5.0, 5.0, 5.0]
        assert again.errors == [] and server.count() == requests + 3
        con.close()


def test_judge_whose_server_is_dead_stops_asking():
    """A judge model whose server resets every connection: after the breaker trips, the
    remaining texts are errors that say why, and nothing more is sent (40 texts x 3 attempts
    without it)."""
    from support.fake_openai import ResettingPort

    with ResettingPort() as port:
        plan = make_plan([fake_model(port.url, retries=2, concurrency=4)], [intervention()])
        got = make_judge(plan)(polite_goal(), [f"Text {i}" for i in range(40)])
        attempts = port.accepted
    assert all(isinstance(r, JudgeFailed) for r in got)
    unreachable = [str(r) for r in got if "is unreachable" in str(r)]
    assert unreachable and unreachable[0].startswith(
        "not requested: model fake is unreachable (InternalServerError: ")
    assert 5 <= attempts <= 24
