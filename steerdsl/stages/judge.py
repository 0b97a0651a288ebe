"""judge:M/I — groundedness verdicts on one generation's answers (by default the selected
candidate of each request), by the judge `evaluate { grounding J }` names.

Each answer is asked about once (`order random`: A/B drawn per answer) or twice (`order
both`), with its probe row's source. Verdicts are cached by (judge identity, source text,
answer text, order), so a rerun, another generation with the same texts, or another spec with
the same judge asks nothing twice; failed requests are stored as 'error' rows and asked again
by the next run. Verdicts are written in batches as they arrive (a kill -9 loses at most the
last half second). Done only when every answer has an ok verdict and the answers are final
(the stage's input is done). A `batch on` judge model's questions go as provider batch jobs
instead (judge_batch.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from steerdsl.plan.keys import JudgeKey
from steerdsl.plan.model import JudgePlan, ModelPlan, Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "judge"
NEEDS = ("generate", "score")
CURRENT = True

PROGRESS_EVERY_S = 0.1


@dataclass(frozen=True)
class Question:
    source_hash: str
    answer_hash: str
    swapped: bool
    prompt: str


@dataclass
class _Progress:
    done: int = 0  # questions answered (ok or error) by this run
    errors: int = 0
    reported_errors: int = 0
    last: float = 0.0


def run(ctx: RunContext, stage: Stage) -> Outcome:
    from steerdsl.grounding.identity import judge_identity
    from steerdsl.store import verdicts

    key: JudgeKey = stage.key
    judge = ctx.plan.judge(key.judge)
    gen = ctx.plan.stage(key.generate)
    judge_id = judge_identity(ctx.plan, judge)
    # Every run: the views follow the latest run's judge of each generation.
    verdicts.record_grounding(ctx.con, gen.hash, judge.name, judge_id, judge.candidates,
                              judge.spot_check)
    if ctx.done(stage):
        return SKIPPED
    model = ctx.plan.model(judge.model)
    if model.name in ctx.result.unreachable:  # found dead earlier in this run
        return Outcome(ran="not_run")
    questions = _questions(ctx, judge, verdicts.answers_to_judge(ctx.con, gen.hash,
                                                                   judge.candidates))
    stored = verdicts.stored_verdicts(ctx.con, judge_id)
    todo = [q for q in questions if stored.get(_key(q)) != "ok"]
    bar = ctx.display.stage(f"judge {key.model}/{key.intervention}", len(questions))
    bar.update(len(questions) - len(todo))
    if model.batch:
        from steerdsl.stages.judge_batch import judge_by_batch

        jobs_open = judge_by_batch(ctx, stage, model, judge_id, todo, stored, bar,
                                   already=len(questions) - len(todo),
                                   seed_of=lambda q: question_seed(ctx, judge_id, q))
        if jobs_open:
            _say_open(ctx, stage, jobs_open)
            return Outcome()
    elif todo:
        _ask(ctx, model, judge_id, todo, bar, already=len(questions) - len(todo))
        if ctx.ledger is not None and ctx.ledger.exhausted:
            raise ctx.ledger.exceeded()  # what was answered is stored
    keys = [_key(q) for q in questions]
    failed, failures = _describe_failures(ctx, stage, judge_id, keys)
    if failures:
        ctx.display.warn(failures)
    ctx.result.failed_calls += failed
    stored = verdicts.stored_verdicts(ctx.con, judge_id)
    if any(stored.get(k) != "ok" for k in keys) or not all(
            ctx.done(ctx.plan.stage(i)) for i in stage.inputs):
        return Outcome()
    return Outcome(done={"verdicts": len(questions)})


def _key(q: Question) -> tuple[str, str, bool]:
    return (q.source_hash, q.answer_hash, q.swapped)


def question_seed(ctx: RunContext, judge_id: str, q: Question) -> int:
    """The seed a question is asked with (where the model takes one), streamed or by batch."""
    from steerdsl.plan.hashing import derive_seed

    return derive_seed(ctx.plan.experiment.seed, "judge", judge_id, q.source_hash,
                       q.answer_hash, str(q.swapped)) % 2**31


def _say_open(ctx: RunContext, stage: Stage, jobs_open: int) -> None:
    from steerdsl.words import count

    ctx.result.batch_jobs_open += jobs_open
    ctx.display.warn(f"  {stage.id}: {count(jobs_open, 'batch job')} submitted and not "
                     "finished yet; a later `steerdsl run` collects the verdicts")


def _questions(ctx: RunContext, judge: JudgePlan, answers) -> list[Question]:
    """One question per (answer, order), each asked once however many answers share it."""
    from steerdsl.grounding.prompt import orders, render_judge_prompt

    seen: dict[tuple[str, str, bool], Question] = {}
    for a in answers:
        for swapped in orders(judge, ctx.plan.experiment.seed, a.source_hash, a.answer_hash):
            k = (a.source_hash, a.answer_hash, swapped)
            if k not in seen:
                seen[k] = Question(a.source_hash, a.answer_hash, swapped,
                                   render_judge_prompt(judge.template, a.source, a.answer,
                                                       swapped))
    return list(seen.values())


def _ask(ctx: RunContext, model: ModelPlan, judge_id: str,
         todo: list[Question], bar, already: int) -> None:
    import asyncio

    from steerdsl.grounding.parse import parse_verdict
    from steerdsl.llm import completion as llm
    from steerdsl.llm.caller import Caller
    from steerdsl.llm.keys import api_key_for
    from steerdsl.llm.pool import run_pool
    from steerdsl.plan.model import SamplingParams
    from steerdsl.store.verdicts import VerdictRecord, VerdictWriter

    writer = VerdictWriter(ctx.con, judge_id)
    caller = Caller(model, api_key_for(model), ledger=ctx.ledger)
    params = llm.sampling_params(model, SamplingParams())
    send_seed = llm.supports_param(model, "seed")
    progress = _Progress()

    async def ask(q: Question) -> None:
        p = dict(params)
        if send_seed:
            p["seed"] = question_seed(ctx, judge_id, q)
        out = await caller.call(q.prompt, 1, p)
        if out is None:
            return  # budget or a dead server: asked by a later run
        if out.error is not None:
            writer.add(VerdictRecord(q.source_hash, q.answer_hash, q.swapped, "error",
                                     error=out.error, error_kind=out.error_kind,
                                     attempts=out.attempts))
            progress.errors += 1
        else:
            c = out.completion
            raw = out.contents[0]
            v = parse_verdict(raw)
            writer.add(VerdictRecord(q.source_hash, q.answer_hash, q.swapped, "ok",
                                     verdict=v.verdict, rationale=v.rationale, raw=raw,
                                     attempts=out.attempts, prompt_tokens=c.prompt_tokens,
                                     completion_tokens=c.completion_tokens, cost=c.cost,
                                     deployment=c.deployment))
        progress.done += 1

    def tick(force: bool = False) -> None:
        if force or writer.due():
            writer.flush()
        now = time.monotonic()
        if force or now - progress.last >= PROGRESS_EVERY_S:
            progress.last = now
            if progress.errors > progress.reported_errors:
                bar.error(progress.errors - progress.reported_errors)
                progress.reported_errors = progress.errors
            bar.update(already + progress.done)
            bar.status(caller.pacer.status)

    try:
        asyncio.run(run_pool(todo, ask, max(1, min(model.concurrency, len(todo))),
                             halted=lambda: caller.halted, tick=tick))
    finally:
        tick(force=True)  # also when interrupted: what was answered is paid for
    if caller.breaker.tripped:
        from steerdsl.stages.generate.failures import describe_unreachable

        message = describe_unreachable(model, caller.breaker.last_error,
                                       caller.breaker.consecutive)
        ctx.result.unreachable[model.name] = message
        ctx.display.warn(message)


def _describe_failures(ctx: RunContext, stage: Stage, judge_id: str,
                       keys: list[tuple[str, str, bool]]) -> tuple[int, str]:
    from steerdsl.stages.generate.failures import describe_error_rows
    from steerdsl.store.verdicts import verdict_error_kinds

    rows = verdict_error_kinds(ctx.con, judge_id, keys)
    return describe_error_rows(rows, stage.id, len(keys), what="verdict request",
                               table="verdicts")
