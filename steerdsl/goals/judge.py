"""LLM-judged goals: a rubric and the text go to a model of the spec; the first number in the
answer is the raw value (steerdsl.goals.measure checks it against the scale).

Requests go through the generate engine's Caller, so a judge honours its model's concurrency,
rpm/tpm, retries and timeout like any generation; values are cached by measure_texts.
"""

from __future__ import annotations

import asyncio
import re
from typing import Sequence

from steerdsl.errors import RunError
from steerdsl.catalog import JUDGE_TEMPLATE
from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import GoalPlan, JudgeMeasure, Plan, SamplingParams
from steerdsl.prompts.clean import strip_reasoning
from steerdsl.texts import text_hash

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")


class JudgeFailed(Exception):
    """One text the judge could not score (the request failed, or no number came back)."""


def judge_prompt(measure: JudgeMeasure, text: str) -> str:
    return JUDGE_TEMPLATE.format(rubric=measure.rubric.strip(), text=text)


def parse_score(answer: str) -> float:
    """The first number of the answer, reasoning blocks aside."""
    m = _NUMBER.search(strip_reasoning(answer))
    if m is None:
        shown = answer.strip().replace("\n", " ")
        raise JudgeFailed(f"no number in the judge's answer: {shown[:80]!r}")
    return float(m.group())


def make_judge(plan: Plan):
    """The `judge` callable of steerdsl.goals.measure.measure_texts for `plan`'s judge goals:
    judge(goal, texts) -> one float, or the exception that text failed with, per text."""

    def judge(goal: GoalPlan, texts: Sequence[str]) -> list[float | BaseException]:
        measure = goal.measure
        if not isinstance(measure, JudgeMeasure):
            raise RunError(f"goal '{goal.name}' is not judged by a model")
        try:
            model = plan.model(measure.model)
        except StopIteration:
            raise RunError(f"goal '{goal.name}': no model '{measure.model}' in the plan") from None
        return asyncio.run(_judge_all(plan, goal, measure, model, list(texts)))

    return judge


async def _judge_all(plan: Plan, goal: GoalPlan, measure: JudgeMeasure, model,
                     texts: list[str]) -> list[float | BaseException]:
    from steerdsl.llm import completion as llm
    from steerdsl.llm.caller import Caller
    from steerdsl.llm.keys import api_key_for

    caller = Caller(model, api_key_for(model))
    params = llm.sampling_params(model, SamplingParams())
    send_seed = llm.supports_param(model, "seed")
    results: list[float | BaseException] = [JudgeFailed("not judged")] * len(texts)
    pending = iter(range(len(texts)))

    async def worker() -> None:
        for i in pending:  # shared iterator: each text goes to exactly one worker
            p = dict(params)
            if send_seed:
                p["seed"] = derive_seed(plan.experiment.seed, "judge", goal.name,
                                        text_hash(texts[i])) % 2**31
            out = await caller.call(judge_prompt(measure, texts[i]), 1, p)
            if out is None:
                why = "not requested"
                if caller.breaker.tripped:  # a dead server: no more requests to it
                    why += f": model {model.name} is unreachable ({caller.breaker.last_error})"
                results[i] = JudgeFailed(why)
                continue
            if out.error is not None:
                results[i] = JudgeFailed(out.error)
                continue
            try:
                results[i] = parse_score(out.contents[0])
            except JudgeFailed as e:
                results[i] = e

    await asyncio.gather(*(worker() for _ in range(max(1, min(model.concurrency, len(texts))))))
    return results
