"""Reading a groundedness judge's answer: every form a judge is known to answer in, with the
exact verdict and rationale expected; what cannot be read is unparsed (verdict None)."""

from __future__ import annotations

import pytest

from steerdsl.grounding.identity import judge_identity
from steerdsl.grounding.parse import Verdict, parse_verdict
from steerdsl.grounding.prompt import drawn_swap, orders, render_judge_prompt
from steerdsl.plan.model import JudgePlan

CASES = [
    # plain JSON
    ('{"answer": "Yes", "rationale": "Same event."}', Verdict("yes", "Same event.")),
    ('{"answer": "No", "rationale": "Different story."}', Verdict("no", "Different story.")),
    ('{"answer":"no"}', Verdict("no", None)),
    # keys and values in any case
    ('{"Answer": "YES", "Rationale": "ok"}', Verdict("yes", "ok")),
    ('{"ANSWER": "nO", "RATIONALE": "x"}', Verdict("no", "x")),
    ('{"answer": "Yes.", "rationale": "fine"}', Verdict("yes", "fine")),
    ('{"answer": " **No** ", "rationale": "fine"}', Verdict("no", "fine")),
    ('{"verdict": "yes", "reason": "same"}', Verdict("yes", "same")),
    ('{"answer": true}', Verdict("yes", None)),
    ('{"answer": false, "rationale": "moved"}', Verdict("no", "moved")),
    # the reference prompt's own example: a trailing comma, in a fence
    ('```json\n{\n  "answer": "Yes",\n  "rationale": "Both describe the meeting.",\n}\n```',
     Verdict("yes", "Both describe the meeting.")),
    ('```\n{"answer": "No", "rationale": "a recipe",}\n```', Verdict("no", "a recipe")),
    ('```JSON\n{"answer": ["x",], "rationale": "r"}\n```', Verdict(None, "r")),
    ('Here is my verdict:\n```json\n{"answer": "No", "rationale": "off topic"}\n```\nThanks',
     Verdict("no", "off topic")),
    # JSON after or before prose, and an unclosed fence
    ('Sure. {"answer": "Yes", "rationale": "same content"} Hope it helps.',
     Verdict("yes", "same content")),
    ('```json\n{"answer": "Yes", "rationale": "cut off"}', Verdict("yes", "cut off")),
    # reasoning blocks
    ('<think>Version A is about a bridge... {"answer": "No"}</think>{"answer": "Yes", '
     '"rationale": "same bridge"}', Verdict("yes", "same bridge")),
    ('<think>hmm</think>\nNo.', Verdict("no", None)),
    ('<think>unfinished reasoning {"answer": "Yes"}', Verdict(None, None)),
    # bare answers
    ("Yes", Verdict("yes", None)),
    ("no", Verdict("no", None)),
    ("YES.", Verdict("yes", None)),
    ("  **No**  ", Verdict("no", None)),
    ('"Yes"', Verdict("yes", None)),
    ("Yes, both describe the same meeting.", Verdict("yes", "both describe the same meeting.")),
    ("No - the rewrite is about a recipe.", Verdict("no", "the rewrite is about a recipe.")),
    ("No: different events", Verdict("no", "different events")),
    ("Yes!\nThey match.", Verdict("yes", "They match.")),
    # labelled lines
    ("Answer: Yes\nRationale: same people, same day.",
     Verdict("yes", "same people, same day.")),
    ("**Answer:** no", Verdict("no", None)),
    # not a verdict
    ("", Verdict(None, None)),
    ("   ", Verdict(None, None)),
    ("Maybe", Verdict(None, None)),
    ("No idea what you mean", Verdict(None, None)),
    ("Yesterday the council met.", Verdict(None, None)),
    ("Nothing in common", Verdict(None, None)),
    ("I think they are the same.", Verdict(None, None)),
    ('{"answer": "Maybe", "rationale": "unclear"}', Verdict(None, "unclear")),
    ('{"rationale": "no answer key"}', Verdict(None, None)),
    ('{"answer": 1}', Verdict(None, None)),
    ("[1, 2]", Verdict(None, None)),
    ('{"answer": "Yes", "rationale": "broken', Verdict(None, None)),
    ("The answer is yes.", Verdict(None, None)),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_parse_verdict(text, expected):
    assert parse_verdict(text) == expected


def test_a_rationale_that_is_not_text_is_kept_as_json():
    assert parse_verdict('{"answer": "no", "rationale": {"why": "moved"}}') == \
        Verdict("no", '{"why": "moved"}')


def test_the_prompt_puts_the_answer_first_when_swapped():
    t = "A={version_a} B={version_b} {\"answer\": \"Yes\"}"
    assert render_judge_prompt(t, "src", "ans", False) == 'A=src B=ans {"answer": "Yes"}'
    assert render_judge_prompt(t, "src", "ans", True) == 'A=ans B=src {"answer": "Yes"}'
    # texts are not templates: placeholders in them stay as they are
    assert render_judge_prompt(t, "{version_b}", "x{version_a}", False) == \
        'A={version_b} B=x{version_a} {"answer": "Yes"}'


def _judge(**kw) -> JudgePlan:
    return JudgePlan(name=kw.pop("name", "j"), model="m", prompt="custom",
                     template="{version_a} {version_b}", **kw)


def test_orders_random_is_a_seeded_draw_and_both_asks_twice():
    draws = [drawn_swap(1, "j", f"s{i}", "a") for i in range(200)]
    assert 70 < sum(draws) < 130  # both positions, about evenly
    assert draws == [drawn_swap(1, "j", f"s{i}", "a") for i in range(200)]  # reproducible
    assert draws != [drawn_swap(2, "j", f"s{i}", "a") for i in range(200)]  # seeded
    assert orders(_judge(), 1, "s0", "a") == [draws[0]]
    assert orders(_judge(order="both"), 1, "s0", "a") == [False, True]


def test_judge_identity_ignores_the_judge_name_and_pacing_but_not_its_settings(tmp_path):
    from steerdsl.plan.model import ExperimentPlan, ModelPlan, Plan

    def plan(judge: JudgePlan, **model) -> Plan:
        model.setdefault("model", "openai/x")
        m = ModelPlan(name="m", provider="litellm", **model)
        return Plan(spec_path="/x/s.steer", spec_hash="h",
                    experiment=ExperimentPlan(name="e", seed=1, store="/x/s.duckdb"),
                    goals=[], corpora=[], probes=[], models=[m], prompts=[], interventions=[],
                    judges=[judge], stages=[], versions={})

    base = judge_identity(plan(_judge()), _judge())
    assert judge_identity(plan(_judge(name="k"), concurrency=9), _judge(name="k")) == base
    assert judge_identity(plan(_judge(order="both")), _judge(order="both")) != base
    assert judge_identity(plan(_judge(), model="openai/y"), _judge()) != base
    # what decides which answers are judged or reviewed is not a verdict's identity
    assert judge_identity(plan(_judge(candidates="all", spot_check=9)),
                          _judge(candidates="all", spot_check=9)) == base
