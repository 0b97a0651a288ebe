"""LLM-judged goals: a rubric and the text go to a model of the spec; the first number in the
answer is the raw value (steerdsl.goals.measure checks it against the scale).

Requests go through the generate engine's Caller, so a judge honours its model's concurrency,
rpm/tpm, retries and timeout like any generation, and is charged to the run's Ledger: judged
goals count toward the budget. Values are cached by measure_texts; what each request cost is
handed to `record` (the runtime stores it in the judge_calls table). Texts not judged because
the budget ran out come back as JudgeNotAsked, which measure_texts does not cache.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from steerdsl.catalog import JUDGE_TEMPLATE
from steerdsl.errors import RunError
from steerdsl.llm.budget import Ledger, usd
from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import GoalPlan, JudgeMeasure, Plan, SamplingParams
from steerdsl.prompts.clean import strip_reasoning
from steerdsl.texts import text_hash

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")


class JudgeFailed(Exception):
    """One text the judge could not score (the request failed, or no number came back)."""


class JudgeNotAsked(Exception):
    """One text the judge was not asked about because the budget ran out: no measurement
    (not even a failed one), so a later run with more budget judges it."""


@dataclass(frozen=True)
class JudgeCall:
    """One judge request that got an answer, and what it cost (a row of judge_calls)."""

    measure_id: str  # the judged goal's GoalPlan.measure_id
    text_hash: str  # of the judged text
    model: str  # the spec's name of the judge model
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None  # USD; None when the price is unknown
    latency_s: float | None  # None for a request answered in a provider batch job
    deployment: str | None = None  # api_base of the deployment that answered (deployments)


# Receives the answered requests of one judge(goal, texts) call, once it returns (or is
# interrupted): how the runtime stores judge costs.
RecordFn = Callable[[Sequence[JudgeCall]], None]


def judge_prompt(measure: JudgeMeasure, text: str) -> str:
    return JUDGE_TEMPLATE.format(rubric=measure.rubric.strip(), text=text)


def parse_score(answer: str) -> float:
    """The first number of the answer, reasoning blocks aside."""
    m = _NUMBER.search(strip_reasoning(answer))
    if m is None:
        shown = answer.strip().replace("\n", " ")
        raise JudgeFailed(f"no number in the judge's answer: {shown[:80]!r}")
    return float(m.group())


def make_judge(plan: Plan, *, ledger: Ledger | None = None, record: RecordFn | None = None):
    """The `judge` callable of steerdsl.goals.measure.measure_texts for `plan`'s judge goals:
    judge(goal, texts) -> one float, or the exception that text failed with, per text
    (JudgeNotAsked for those left unasked once `ledger` is exhausted).

    ledger: charged with every judge request's cost (the run's, shared with the generate
        stages); None: no limit.
    record: given the JudgeCall of every answered request of each judge(...) call.
    """

    def judge(goal: GoalPlan, texts: Sequence[str]) -> list[float | BaseException]:
        measure = goal.measure
        if not isinstance(measure, JudgeMeasure):
            raise RunError(f"goal '{goal.name}' is not judged by a model")
        try:
            model = plan.model(measure.model)
        except StopIteration:
            raise RunError(f"goal '{goal.name}': no model '{measure.model}' in the plan") from None
        calls: list[JudgeCall] = []
        try:
            return asyncio.run(_judge_all(plan, goal, measure, model, list(texts), ledger,
                                          calls))
        finally:
            # Also when interrupted: what was answered is paid for.
            if record is not None and calls:
                record(calls)

    return judge


async def _judge_all(plan: Plan, goal: GoalPlan, measure: JudgeMeasure, model,
                     texts: list[str], ledger: Ledger | None,
                     calls: list[JudgeCall]) -> list[float | BaseException]:
    from steerdsl.llm import completion as llm
    from steerdsl.llm.caller import Caller
    from steerdsl.llm.keys import api_key_for
    from steerdsl.llm.pool import run_pool

    caller = Caller(model, api_key_for(model), ledger=ledger)
    params = llm.sampling_params(model, SamplingParams())
    send_seed = llm.supports_param(model, "seed")
    results: list[float | BaseException] = [JudgeFailed("not judged")] * len(texts)

    async def judge_one(i: int) -> None:
        p = dict(params)
        if send_seed:
            p["seed"] = derive_seed(plan.experiment.seed, "judge", goal.name,
                                    text_hash(texts[i])) % 2**31
        out = await caller.call(judge_prompt(measure, texts[i]), 1, p)
        if out is not None and out.completion is not None:
            c = out.completion
            calls.append(JudgeCall(goal.measure_id, text_hash(texts[i]), model.name,
                                   c.prompt_tokens, c.completion_tokens, c.cost,
                                   out.latency_s, c.deployment))
        if out is None and caller.ledger.exhausted:
            results[i] = JudgeNotAsked(f"not judged: budget {usd(caller.ledger.limit)} "
                                       "reached")
            return
        if out is None:
            why = "not requested"
            if caller.breaker.tripped:  # a dead server: no more requests to it
                why += f": model {model.name} is unreachable ({caller.breaker.last_error})"
            results[i] = JudgeFailed(why)
            return
        if out.error is not None:
            results[i] = JudgeFailed(out.error)
            return
        try:
            results[i] = parse_score(out.contents[0])
        except JudgeFailed as e:
            results[i] = e

    # Every text gets a result, also after the budget or the breaker stopped requests (no
    # `halted`): what was not asked must say why.
    await run_pool(range(len(texts)), judge_one, min(model.concurrency, len(texts)))
    return results
