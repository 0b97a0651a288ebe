"""Goal validation (`steerdsl validate-goals`), the pure part: which pairs of texts are
compared, what the judge is asked, how its answer is read, and how well the answers agree
with the goal (Kendall's tau-b). No I/O here: steerdsl.run.goal_validation asks and stores.

A pair (A, B) scores +1 when A is "more" of the goal than B, -1 when B is, 0 for a tie; the
judge's answer A/B/Tie gives +1/-1/0, the goal's normalized difference A - B its sign, with
|difference| < TIE_BELOW counting as a tie.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from steerdsl.catalog import VALIDATION_TEMPLATE, builtin_question
from steerdsl.plan.hashing import local_model_versions, stable_hash
from steerdsl.plan.graph import model_identity
from steerdsl.plan.model import BuiltinMeasure, GoalPlan, ModelPlan
from steerdsl.prompts.clean import strip_reasoning

TIE_BELOW = 0.1  # |normalized difference| below this: the goal sees no difference
ANSWERS = ("a", "b", "tie")
_SCORE = {"a": 1, "b": -1, "tie": 0}
# Pacing and price decide how fast and at what cost answers come, never the answers.
# Words a short answer may start with before its choice: "Answer: B", "The answer is A".
_LEAD = {"answer", "the", "is", "my", "final", "version", "text"}
_TIE_WORDS = {"tie", "equal", "equally", "same", "neither"}


def judge_identity(model: ModelPlan) -> str:
    """What decides a judge's answers: the model it asks (not its pacing or price) and the
    prompt template. Cached answers are keyed by it."""
    return stable_hash({
        "validation_template": VALIDATION_TEMPLATE,
        "model": model_identity(model),
        "model_versions": local_model_versions(model),
    })


def goal_question(goal: GoalPlan) -> str | None:
    """The goal's own question (a `question` setting), else its built-in measure's."""
    own = goal.question
    if own:
        return str(own)
    measure = goal.measure.name if isinstance(goal.measure, BuiltinMeasure) else None
    return builtin_question(goal.name, measure)


def question_prompt(question: str, text_a: str, text_b: str) -> str:
    return VALIDATION_TEMPLATE.format(question=question.strip(), text_a=text_a, text_b=text_b)


def draw_pairs(n_texts: int, count: int, seed: int) -> list[tuple[int, int]]:
    """`count` distinct pairs of distinct texts (all pairs when there are fewer), each as
    (index shown as A, index shown as B) with the order drawn too; the same for the same seed."""
    total = n_texts * (n_texts - 1) // 2
    count = max(0, min(count, total))
    rng = np.random.default_rng(seed)
    if count * 2 >= total:  # most pairs are wanted: shuffle them all
        every = [(i, j) for i in range(n_texts) for j in range(i + 1, n_texts)]
        chosen = [every[k] for k in rng.permutation(total)[:count]]
    else:
        seen: set[tuple[int, int]] = set()
        chosen = []
        while len(chosen) < count:
            i, j = (int(v) for v in rng.integers(n_texts, size=2))
            pair = (min(i, j), max(i, j))
            if i != j and pair not in seen:
                seen.add(pair)
                chosen.append(pair)
    swaps = rng.integers(2, size=len(chosen))
    return [(j, i) if s else (i, j) for (i, j), s in zip(chosen, swaps)]


def parse_answer(raw: str) -> str | None:
    """'a', 'b' or 'tie' from the judge's answer (any case, punctuation and markdown aside,
    reasoning blocks removed, a short sentence around it), else None."""
    words = re.findall(r"[a-z]+", strip_reasoning(raw).lower())
    k = 0
    while k < len(words) - 1 and words[k] in _LEAD:
        k += 1
    first = words[k] if k < len(words) else None
    if first == "a" and k + 1 < len(words) and words[k + 1] in _TIE_WORDS:
        return "tie"  # "a tie"
    # "version A" / "version B" anywhere: a choice that names both is no choice.
    named = {words[i + 1] for i in range(len(words) - 1)
             if words[i] == "version" and words[i + 1] in ("a", "b")}
    if first in ("a", "b"):
        return first if named <= {first} else None
    if first in _TIE_WORDS:
        return "tie"
    # Elsewhere in a sentence only unambiguous mentions count: "I'd say version B."
    tie = bool(_TIE_WORDS & set(words))
    if len(named) == 1 and not tie:
        return named.pop()
    if tie and not named:
        return "tie"
    return None


def answer_score(answer: str) -> int:
    return _SCORE[answer]


def goal_score(diff: float) -> int:
    """+1 / -1 / 0 from the normalized difference A - B."""
    if abs(diff) < TIE_BELOW:
        return 0
    return 1 if diff > 0 else -1


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two paired samples (NaN when undefined: fewer than two items, or a
    side with one value only). Exact counting over the contingency table of distinct values:
    linear in the number of items."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape:
        raise ValueError("kendall_tau_b needs samples of equal length")
    n = xs.size
    if n < 2:
        return math.nan
    xu, xi = np.unique(xs, return_inverse=True)
    yu, yi = np.unique(ys, return_inverse=True)
    r, c = xu.size, yu.size
    table = np.zeros((r, c), dtype=np.int64)
    np.add.at(table, (xi, yi), 1)
    # later[i, j]: items with a larger x and a larger y; earlier: larger x and smaller y.
    later = np.zeros((r + 1, c + 1), dtype=np.int64)
    later[:r, :c] = table[::-1, ::-1].cumsum(0).cumsum(1)[::-1, ::-1]
    earlier = np.zeros((r + 1, c + 1), dtype=np.int64)
    earlier[:r, 1:] = table[::-1, :].cumsum(0)[::-1, :].cumsum(1)
    concordant = int((table * later[1:, 1:]).sum())
    discordant = int((table * earlier[1:, :c]).sum())
    pairs = n * (n - 1) // 2
    x_ties = int((table.sum(1) * (table.sum(1) - 1) // 2).sum())
    y_ties = int((table.sum(0) * (table.sum(0) - 1) // 2).sum())
    denominator = (pairs - x_ties) * (pairs - y_ties)
    if denominator == 0:
        return math.nan
    return (concordant - discordant) / math.sqrt(denominator)


@dataclass(frozen=True)
class GoalAgreement:
    """How one goal's judge answers agree with its values, over the drawn pairs."""

    goal: str
    question: str
    pairs: int  # drawn
    answered: int  # with a parsed answer and values of both texts: what tau is over
    unparsed: int  # the judge answered, but not A, B or Tie
    missing: int  # no answer (the request failed or was not sent) or a text without a value
    judge_ties: int  # "Tie" answers
    goal_ties: int  # |normalized difference| < TIE_BELOW, among the answered
    tau: float  # NaN when undefined

    @property
    def complete(self) -> bool:
        return self.unparsed == 0 and self.missing == 0


# One pair's answer as the judge gave it: 'a' | 'b' | 'tie', '' when unparsed, None when there
# is none (the request failed, or was not sent).
PairAnswer = str | None


def agreement(goal: str, question: str, answers: Sequence[PairAnswer],
              diffs: Sequence[float]) -> GoalAgreement:
    """Tau between the answers and the goal's normalized differences (A - B, NaN when a text
    has no value), pair by pair."""
    judged, measured = [], []
    unparsed = missing = 0
    for answer, diff in zip(answers, diffs, strict=True):
        if answer == "":
            unparsed += 1
        elif answer is None or math.isnan(diff):
            missing += 1
        else:
            judged.append(answer_score(answer))
            measured.append(goal_score(diff))
    return GoalAgreement(goal, question, len(answers), len(judged), unparsed, missing,
                         judged.count(0), measured.count(0), kendall_tau_b(judged, measured))
