"""`feedback N rounds [template "..."]` in the language: the plan it builds, its checks with
their exact messages and places, hashes of specs without it unchanged, and the message it
renders (docs/method.md, "Closed-loop feedback")."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import steerdsl
from steerdsl.lang.diagnostics import SpecError
from steerdsl.plan import model as pm
from steerdsl.plan.prompts import (FEEDBACK_MOVED, FEEDBACK_TEMPLATE, FEEDBACK_UNASKED,
                                   FEEDBACK_UNMOVED)
from steerdsl.prompts.builtin import builtin_prompt
from steerdsl.prompts.feedback import GoalResult, feedback_message

BASE = {
    "experiment": "experiment e { seed 1 }\n",
    "corpus": 'corpus c { read "c.jsonl" text "text" }\n',
    "goals": ("goals {\n  reading_difficulty = char_count normalize 0..100\n"
              "  formality = word_count normalize 0..50\n}\n"),
    "probe": "probe p from c { sources 2 requests 2 per source active 1 }\n",
    "model": 'model m { litellm "openai/x" api_base "http://127.0.0.1:9/v1" }\n',
    "intervention": "intervention loop {\n  prompt direct\n  feedback 2 rounds\n}\n",
    "evaluate": "evaluate { probe p  models m  interventions loop }\n",
}
# Lines: experiment 1, corpus 2, goals 3-6, probe 7, model 8, intervention 9-12, evaluate 13.


def write(tmp_path: Path, **blocks: str) -> Path:
    (tmp_path / "c.jsonl").write_text('{"text": "a b c"}\n{"text": "d e"}\n', encoding="utf-8")
    path = tmp_path / "s.steer"
    path.write_text("".join(v for v in {**BASE, **blocks}.values() if v), encoding="utf-8")
    return path


def errors(tmp_path: Path, **blocks: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        steerdsl.load(write(tmp_path, **blocks))
    return [f"{d.span.line}:{d.span.col}: {d.text}" for d in info.value.diagnostics]


def loop(*lines: str) -> str:
    return "intervention loop {\n" + "".join(f"  {x}\n" for x in lines) + "}\n"


def test_feedback_builds_its_plan_with_the_built_in_texts(tmp_path):
    plan = steerdsl.load(write(tmp_path)).plan()
    assert plan.intervention("loop") == pm.PromptIntervention(
        name="loop", prompt="direct",
        feedback=pm.FeedbackPlan(rounds=2, template=FEEDBACK_TEMPLATE, moved=FEEDBACK_MOVED,
                                 unmoved=FEEDBACK_UNMOVED, unasked=FEEDBACK_UNASKED))
    # the loop measures answers: the space is an input of its generate stage
    assert plan.stage("generate:m/loop").inputs == ["probe:p", "space"]
    assert plan.stage("generate:m/loop").counts["feedback_requests_max"] == 8


def test_a_template_replaces_the_built_in_one(tmp_path):
    iv = loop('feedback 3 rounds template """Not yet: {feedback}{suffix}"""')
    fb = steerdsl.load(write(tmp_path, intervention=iv)).plan().intervention("loop").feedback
    assert (fb.rounds, fb.template) == (3, "Not yet: {feedback}{suffix}")


def test_without_feedback_nothing_changes_in_plans_or_hashes(tmp_path):
    plain = loop("prompt direct")
    plan = steerdsl.load(write(tmp_path, intervention=plain)).plan()
    iv = plan.intervention("loop")
    assert "feedback" not in iv.model_dump(mode="json")
    assert plan.stage("generate:m/loop").inputs == ["probe:p"]
    with_feedback = steerdsl.load(write(tmp_path)).plan()
    assert with_feedback.stage("generate:m/loop").hash != plan.stage("generate:m/loop").hash
    assert with_feedback.stage("probe:p").hash == plan.stage("probe:p").hash


@pytest.mark.parametrize("setting, message", [
    ("feedback 0 rounds", "11:12: 'feedback' rounds must be between 1 and 10, got 0"),
    ("feedback 11 rounds", "11:12: 'feedback' rounds must be between 1 and 10, got 11"),
    ("feedback 1.5 rounds", "11:12: 'feedback' rounds takes a whole number, got 1.5"),
    ('feedback 2 rounds template "Again.{suffix}"',
     "11:30: the feedback template must contain {feedback} (where the sentences about the "
     "missed goals go)"),
    ('feedback 2 rounds template "{feedback} {text}"',
     "11:30: unknown placeholder '{text}' in template (known: {feedback}, {suffix})"),
])
def test_bad_feedback_settings(tmp_path, setting, message):
    assert errors(tmp_path, intervention=loop("prompt direct", setting)) == [message]


def test_feedback_twice(tmp_path):
    iv = loop("feedback 2 rounds", "feedback 3 rounds")
    assert errors(tmp_path, intervention=iv) == [
        "11:3: 'feedback' is set twice in intervention loop (first at line 10)"]


def test_feedback_with_best_of_n_is_not_supported(tmp_path):
    iv = loop("feedback 2 rounds", "sample 4")
    assert errors(tmp_path, intervention=iv) == [
        "11:3: intervention 'loop' has feedback and sample 4: feedback revises one answer per "
        "request, best-of-N is not supported with it; drop one of them"]


def test_feedback_with_a_batch_model_is_not_supported(tmp_path):
    model = 'model m { litellm "openai/x" batch on }\n'
    assert errors(tmp_path, model=model) == [
        "13:28: model 'm' has batch on, but intervention 'loop' gives feedback, which needs "
        "each answer back before the next request: set batch off for this model, or evaluate "
        "the intervention with another model"]


def test_feedback_with_a_finetune_is_not_supported(tmp_path):
    blocks = {"probe": BASE["probe"] + "probe t from c { sources 1 requests 1 per source "
                                       "active 1 exclude p }\n",
              "model": 'model m { local "smollm2" }\n',
              "intervention": loop("finetune grpo", "on t", "reward steering_error",
                                   "feedback 2 rounds")}
    assert errors(tmp_path, **blocks) == [
        "14:3: intervention 'loop' fine-tunes: feedback revises the answers of prompt "
        "interventions only (not supported with finetune yet)"]


# --- the message ---

PROMPT = builtin_prompt("direct")
IV = pm.PromptIntervention(name="loop", prompt="direct")
PLAN = pm.FeedbackPlan(rounds=2, template=FEEDBACK_TEMPLATE, moved=FEEDBACK_MOVED,
                       unmoved=FEEDBACK_UNMOVED, unasked=FEEDBACK_UNASKED)


def test_the_message_says_per_missed_goal_what_was_asked_done_and_to_do():
    results = [
        # asked +0.15 (slightly harder), moved +0.7: 0.55 too far
        GoalResult("reading_difficulty", 0.2, 0.35, 0.15, 0.9),
        # not asked, moved -0.3
        GoalResult("text_length", 0.5, 0.5, None, 0.2),
        # asked +0.3 (more formal), moved 0.05: did not change
        GoalResult("formality", 0.4, 0.7, 0.3, 0.45),
        # asked -0.3, landed within the deadzone: no sentence
        GoalResult("textual_diversity", 0.6, 0.3, -0.3, 0.35),
    ]
    assert feedback_message(PROMPT, IV, PLAN, results, 0.1) == (
        "Your rewrite did not change the text as asked. "
        "Reading difficulty: asked to make it slightly harder to read, you made it much harder "
        "to read; now make it much easier to read. "
        "Text length: asked to keep it unchanged, you made it shorter; now make it longer. "
        "Formality: asked to make it more formal, it did not change; now make it more formal. "
        "Please revise your rewrite. Respond with only the rewritten text and do not explain "
        "your response.")


def test_no_message_when_every_goal_lands_or_cannot_be_measured():
    results = [GoalResult("text_length", 0.5, 0.8, 0.3, 0.75),
               GoalResult("formality", 0.5, 0.5, None, math.nan)]
    assert feedback_message(PROMPT, IV, PLAN, results, 0.1) is None


def test_feedback_needs_a_phrase_for_every_goal_whatever_the_prompt(tmp_path):
    goals = "goals {\n  wordlen = char_count / word_count normalize 0..10\n}\n"
    plain = loop("prompt underspecified")
    steerdsl.load(write(tmp_path, goals=goals, intervention=plain))  # no phrase needed
    assert errors(tmp_path, goals=goals,
                  intervention=loop("prompt underspecified", "feedback 1 rounds")) == [
        "9:10: goal 'wordlen' may be moved by probe 'p' but prompt 'underspecified' (used by "
        "intervention 'loop') has no phrase for it: add  phrase wordlen up \"...\" down "
        "\"...\"  to a prompt extending underspecified"]
