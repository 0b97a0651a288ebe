"""The feedback message of closed-loop feedback (docs/method.md, "Closed-loop feedback"):
per goal that missed its target by more than the deadzone, what was asked, what the answer
did and what to do now, in the prompt's own phrases and modifiers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from steerdsl.plan.model import FeedbackPlan, InterventionPlan, PromptPlan
from steerdsl.prompts.render import intent, suffix

_PLACEHOLDER = re.compile(r"\{(feedback|suffix)\}")


@dataclass(frozen=True)
class GoalResult:
    """One goal of an answer, normalized: the source, the target (the source when the goal was
    not asked to move), the requested delta (None: not asked) and the answer's value (NaN:
    it could not be measured)."""

    goal: str
    source: float
    target: float
    delta: float | None
    output: float


def misses(r: GoalResult, deadzone: float) -> bool:
    """The answer is further than the deadzone from the target (a NaN value never misses: it
    cannot be judged)."""
    return not math.isnan(r.output) and abs(r.output - r.target) > deadzone


def feedback_message(prompt: PromptPlan, intervention: InterventionPlan, plan: FeedbackPlan,
                     results: list[GoalResult], deadzone: float) -> str | None:
    """The user message asking for a revision, or None when every goal landed. Goals are
    listed in the order of `results` (the goal order)."""
    sentences = [_sentence(prompt, plan, r, deadzone) for r in results if misses(r, deadzone)]
    if not sentences:
        return None
    values = {"feedback": " ".join(sentences), "suffix": suffix(prompt, intervention)}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], plan.template)


def _sentence(prompt: PromptPlan, plan: FeedbackPlan, r: GoalResult, deadzone: float) -> str:
    phrase = prompt.phrases[r.goal]
    modifiers = prompt.modifiers
    moved = r.output - r.source
    words = {"goal": r.goal.replace("_", " "),
             "fix": intent(phrase, r.target - r.output, modifiers),
             "got": intent(phrase, moved, modifiers) if moved else "",
             "asked": intent(phrase, r.delta, modifiers) if r.delta else ""}
    if not r.delta:
        form = plan.unasked
    elif abs(moved) < deadzone:
        form = plan.unmoved
    else:
        form = plan.moved
    text = re.sub(r"\{(goal|asked|got|fix)\}", lambda m: words[m.group(1)], form)
    return text[:1].upper() + text[1:]
