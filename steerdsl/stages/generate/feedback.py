"""Closed-loop feedback (`feedback N rounds`, docs/method.md "Closed-loop feedback").

Round 0 is the plain answer (engine.py). Then, round by round over every conversation at
once: measure the latest answers (the run's measuring, through the measurement cache),
normalize them with the space, and where a goal misses its target by more than the probe's
deadzone, reply in the same conversation with the feedback message and ask for a revision;
at most N rounds, stopping early when every goal lands.

Every round is stored (steerdsl.store.feedback) with the round in its key, and an ok round
is never requested again: after a kill, the rerun measures the stored answers again (from
the cache) and asks only for the rounds still missing.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

from steerdsl.llm.caller import Caller
from steerdsl.llm.keys import api_key_for
from steerdsl.llm.pool import run_pool
from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.keys import ProbeKey
from steerdsl.plan.model import ModelPlan, SampledProbePlan, Stage
from steerdsl.prompts.clean import clean_answer
from steerdsl.prompts.feedback import GoalResult, feedback_message
from steerdsl.stages.context import RunContext
from steerdsl.store import feedback as rounds_store
from steerdsl.store.feedback import RoundRecord, RoundWriter
from steerdsl.store.probes import row_goals

# A probe without a deadzone of its own (a CSV probe): the paper's.
DEFAULT_DEADZONE = SampledProbePlan.model_fields["deadzone"].default
TICK_S = 0.1

Key = tuple[int, int]  # (row_id, sample)


@dataclass
class FeedbackStats:
    requests: int = 0  # revision requests sent by this run (attempts included)
    ok: int = 0  # rounds answered by this run
    errors: int = 0  # rounds that failed in this run
    halted: bool = False  # the budget ran out or the model was given up: rounds remain
    unreachable: str | None = None


@dataclass
class _Turn:
    key: Key
    round: int
    prompt: str  # the feedback message
    messages: list[dict[str, str]]
    seed: int


@dataclass
class _Loop:
    model: ModelPlan
    params: dict[str, Any]
    send_seed: bool
    caller: Caller
    writer: RoundWriter
    prompt_plan: Any
    stats: FeedbackStats
    bar: Any = None  # this round's progress (StageProgress)
    done: int = 0  # this round's turns finished
    total: int = 0  # this round's turns
    stopped: list[bool] = field(default_factory=lambda: [False])


def run_feedback(ctx: RunContext, stage: Stage, model: ModelPlan, *,
                 retry_base_s: float = 0.5) -> FeedbackStats:
    """Every round still to do of a feedback intervention's generation (its round 0 answers
    stored by the engine). Raises BudgetExceeded once everything answered is stored."""
    plan, con, key = ctx.plan, ctx.con, stage.key
    iv = plan.intervention(key.intervention)
    fb = iv.feedback
    assert fb is not None, "only feedback interventions loop"
    prompt_plan = plan.prompt(iv.prompt)
    probe = plan.probe(key.probe)
    deadzone = probe.deadzone if isinstance(probe, SampledProbePlan) else DEFAULT_DEADZONE
    requests = row_goals(con, plan.stage(ProbeKey(probe=key.probe)).hash)
    goals = [g for g in prompt_plan.phrases if any(g in r for r in requests.values())]
    rounds_store.adopt_first_answers(con, stage.hash)
    stats = FeedbackStats()
    loop: _Loop | None = None
    for r in range(1, fb.rounds + 1):
        latest = _open_conversations(rounds_store.load_rounds(con, stage.hash), r,
                                     ctx.retry_errors)
        if not latest:
            continue
        values = _measure(ctx, stage, [recs[-1] for recs in latest.values()])
        turns = []
        for k, recs in latest.items():
            results = [_result(g, requests[k[0]].get(g), values.get((*k, r - 1), {}))
                       for g in goals]
            message = feedback_message(prompt_plan, iv, fb, results, deadzone)
            if message is None:
                continue  # every goal landed: the conversation ends here
            seed = derive_seed(plan.experiment.seed, "feedback", key.model, iv.name,
                               str(k[0]), str(k[1]), str(r))
            turns.append(_Turn(k, r, message, _conversation(recs, message), seed))
        if not turns:
            continue
        if loop is None:
            loop = _start(ctx, stage, model, prompt_plan, stats, retry_base_s)
        loop.bar = ctx.display.stage(f"feedback {key.model}/{key.intervention} round {r}",
                                     len(turns))
        loop.done, loop.total = 0, len(turns)
        _ask(loop, turns)
        if loop.caller.halted:
            stats.halted = True
            break
    # Every stored answer's values, the final ones included: each round is queryable.
    done = rounds_store.measured_rounds(con, stage.hash)
    unmeasured = [rec for recs in rounds_store.load_rounds(con, stage.hash).values()
                  for rec in recs
                  if rec.status == "ok" and (rec.row_id, rec.sample, rec.round) not in done]
    if unmeasured:
        _measure(ctx, stage, unmeasured)
    if loop is not None and loop.caller.ledger.exhausted:
        raise loop.caller.ledger.exceeded()
    return stats


def _open_conversations(rounds: dict[Key, list[RoundRecord]], r: int,
                        retry_errors: bool) -> dict[Key, list[RoundRecord]]:
    """Conversations whose latest ok round is r - 1 (their ok rounds, in order), unless round
    r failed before and errors are not retried."""
    out = {}
    for k, recs in rounds.items():
        ok = [x for x in recs if x.status == "ok"]
        if not ok or ok[-1].round != r - 1:
            continue
        if any(x.round == r for x in recs) and not retry_errors:
            continue
        out[k] = ok
    return out


def _result(goal: str, request: tuple[float, float, float | None] | None,
            values: dict[str, float]) -> GoalResult:
    source, target, delta = request if request is not None else (math.nan, math.nan, None)
    output = values.get(goal, math.nan)
    if source is None or output is None:  # a failed measurement: never judged
        source, output = math.nan, math.nan
    return GoalResult(goal, source, target if target is not None else math.nan, delta, output)


def _conversation(ok: list[RoundRecord], message: str) -> list[dict[str, str]]:
    """The chat so far: the probe prompt, each answer (cleaned, as it was measured) and each
    feedback message, then the new feedback message."""
    messages = []
    for rec in ok:
        messages += [{"role": "user", "content": rec.prompt},
                     {"role": "assistant", "content": rec.answer or ""}]
    return messages + [{"role": "user", "content": message}]


def _measure(ctx: RunContext, stage: Stage,
             recs: list[RoundRecord]) -> dict[tuple[int, int, int], dict[str, float]]:
    """Normalized values of the answers of `recs` (through the measurement cache), also
    written to feedback_outputs."""
    from steerdsl.goals.normalize import normalize

    if not recs:
        return {}
    measured = ctx.measure([r.answer or "" for r in recs],
                           ids=[f"{stage.id}:{r.row_id}:{r.sample}:round {r.round}"
                                for r in recs])
    bounds = ctx.state.bounds()
    out: dict[tuple[int, int, int], dict[str, float]] = {}
    rows = []
    for g in ctx.plan.goals:
        raw = measured.raw[g.name]
        values = normalize(raw, *bounds[g.name])
        for rec, x, v in zip(recs, raw, values):
            key = (rec.row_id, rec.sample, rec.round)
            out.setdefault(key, {})[g.name] = float(v)
            rows.append((stage.hash, *key, g.name, _none_if_nan(x), _none_if_nan(v)))
    rounds_store.save_round_outputs(ctx.con, rows)
    if measured.errors:
        ctx.result.failed_measurements += len(measured.errors)
        ctx.say_measure_errors(f"feedback {stage.id}", measured)
    ctx.stop_if_unmeasured(measured)
    return out


def _none_if_nan(x: float) -> float | None:
    return None if x != x else float(x)


def _start(ctx: RunContext, stage: Stage, model: ModelPlan, prompt_plan, stats: FeedbackStats,
           retry_base_s: float) -> _Loop:
    from steerdsl.llm import completion as llm

    iv = ctx.plan.intervention(stage.key.intervention)
    loop = _Loop(model=model, params=llm.sampling_params(model, iv.sampling),
                 send_seed=llm.supports_param(model, "seed"), caller=None,  # type: ignore
                 writer=RoundWriter(ctx.con, stage.hash), prompt_plan=prompt_plan,
                 stats=stats)
    loop.caller = Caller(model, api_key_for(model), ledger=ctx.ledger,
                         retry_base_s=retry_base_s, stopped=lambda: loop.stopped[0])
    return loop


def _ask(loop: _Loop, turns: list[_Turn]) -> None:
    """One round's requests, concurrently; rounds written as they arrive."""
    requests_before = loop.caller.requests
    try:
        asyncio.run(run_pool(turns, lambda t: _revise(loop, t),
                             max(1, min(loop.model.concurrency, len(turns))),
                             halted=lambda: loop.caller.halted, tick=lambda: _tick(loop),
                             tick_s=TICK_S))
    finally:
        loop.writer.flush()
        loop.stats.requests += loop.caller.requests - requests_before
        if loop.caller.breaker.tripped and loop.stats.unreachable is None:
            from steerdsl.stages.generate.failures import describe_unreachable

            b = loop.caller.breaker
            loop.stats.unreachable = describe_unreachable(loop.model, b.last_error,
                                                          b.consecutive)
        loop.bar.update(loop.done, loop.total)


def _tick(loop: _Loop) -> None:
    if loop.writer.due():
        try:
            loop.writer.flush()
        except Exception:  # the store failed: stop asking
            loop.stopped[0] = True
            raise
    loop.bar.update(loop.done, loop.total)


async def _revise(loop: _Loop, turn: _Turn) -> None:
    params = dict(loop.params)
    if loop.send_seed:
        params["seed"] = turn.seed % 2**31
    started = time.monotonic()
    out = await loop.caller.call(turn.messages, 1, params)
    if out is None:
        return  # budget or a dead server: the round stays missing, for a later run
    row_id, sample = turn.key
    if out.error is not None:
        loop.writer.add(RoundRecord(row_id, sample, turn.prompt, "error", round=turn.round,
                                    error=out.error, error_kind=out.error_kind,
                                    latency_s=out.latency_s, attempts=out.attempts))
        loop.stats.errors += 1
        loop.bar.error(1)
    else:
        c = out.completion
        raw = out.contents[0]
        loop.writer.add(RoundRecord(
            row_id, sample, turn.prompt, "ok", round=turn.round, raw_answer=raw,
            answer=clean_answer(raw, loop.prompt_plan), prompt_tokens=c.prompt_tokens,
            completion_tokens=c.completion_tokens, cost=c.cost,
            latency_s=time.monotonic() - started, attempts=out.attempts,
            finish_reason=out.finish_reasons[0] if out.finish_reasons else None))
        loop.stats.ok += 1
    loop.done += 1
