"""Calibrated requests: for each requested move, the word bucket whose fitted movement lands
nearest the target; for each goal not asked to move whose predicted side effect is strong,
"keep GOAL unchanged"."""

from __future__ import annotations

from dataclasses import dataclass

from steerdsl.calibration.fit import Calibration
from steerdsl.plan.model import PromptPlan
from steerdsl.prompts.render import intent, keep_phrase


@dataclass(frozen=True)
class Request:
    """What a calibrated row asks of one goal. A move: `requested` (the probe's delta),
    `asked` (the delta put in the prompt), `predicted` (the fit's movement for it; None: the
    goal has no fit and is asked as drawn). A keep: `requested` and `asked` None, `predicted`
    the side effect expected without it."""

    goal: str
    requested: float | None
    asked: float | None
    words: str
    predicted: float | None


def keep_threshold(deadzone: float) -> float:
    """A side effect predicted at half the deadzone or more is asked to stay unchanged: about
    where a drift starts to push answers out of the deadzone around their source."""
    return deadzone / 2


def calibrate_row(deltas: dict[str, float | None], fit: Calibration, prompt: PromptPlan,
                  threshold: float) -> list[Request]:
    """The requests of one probe row (goal -> delta, None: inactive), in the prompt's goal
    order: the moves, then the keeps."""
    moves = [_move(g, d, fit, prompt) for g in prompt.phrases
             if (d := deltas.get(g)) is not None and d != 0]
    asked = {r.goal: r.asked for r in moves}
    keeps = []
    for goal in prompt.phrases:
        if goal in deltas and deltas[goal] is None:
            drift = sum(e.coefficient * asked[e.cause] for e in fit.effects
                        if e.effect == goal and e.cause in asked)
            if abs(drift) >= threshold:
                keeps.append(Request(goal, None, None, keep_phrase(goal), drift))
    return moves + keeps


def _move(goal: str, delta: float, fit: Calibration, prompt: PromptPlan) -> Request:
    phrase = prompt.phrases[goal]
    goal_fit = fit.buckets.get(goal)
    if not goal_fit:
        return Request(goal, delta, delta, intent(phrase, delta, prompt.modifiers), None)
    sign = 1 if delta > 0 else -1
    # Nearest predicted movement; a tie goes to the smaller request.
    best = min((b for b in goal_fit if b.sign == sign),
               key=lambda b: (abs(b.predicted - delta), b.bucket.asked))
    return Request(goal, delta, best.asked, intent(phrase, best.asked, prompt.modifiers),
                   best.predicted)


def asked_deltas(requests: list[Request]) -> tuple[dict[str, float], tuple[str, ...]]:
    """What to render: goal -> asked delta, and the goals to keep unchanged."""
    return ({r.goal: r.asked for r in requests if r.asked is not None},
            tuple(r.goal for r in requests if r.requested is None))
