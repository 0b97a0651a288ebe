"""The generate stage: every (probe row, sample) of one model x intervention, answered once.

Resumable: samples already stored with status 'ok' are never requested again; 'error' rows are
requested again only with retry_errors. Answers are written in batches as they arrive
(writer.py), so stopping at any moment loses at most the last unflushed half second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from steerdsl.llm.budget import BudgetExceeded, Ledger
from steerdsl.llm.caller import Caller
from steerdsl.llm.keys import api_key_for
from steerdsl.llm.pool import run_pool
from steerdsl.stages.generate.rows import GenRow, RowPrompts, Rows, row_ids
from steerdsl.store.calls import ERROR, OK, CallRecord, CallWriter, sample_statuses
from steerdsl.store.generations import register_generation
from steerdsl.plan.hashing import canonical_json, derive_seed
from steerdsl.plan.keys import ProbeKey
from steerdsl.plan.model import InterventionPlan, ModelPlan, Plan, PromptPlan, Stage
from steerdsl.prompts.clean import clean_answer

__all__ = ["BudgetExceeded", "GenProgress", "GenRow", "GenStats", "run_generate"]

PROGRESS_EVERY_S = 0.1


@dataclass
class GenProgress:
    """What a plain callable `progress` receives. An object with `update(done, total)`,
    `error(n)` and `status(text)` (steerdsl.progress.StageProgress) gets those calls
    instead."""

    stage: str
    done: int  # samples of the stage stored so far (ok or error, earlier runs included)
    total: int  # samples of the stage
    errors: int  # error rows written by this run
    status: str  # why requests wait ("backing off after rate limit (12s)"), else ""
    cost: float  # USD spent by this run (known prices only)


@dataclass
class GenStats:
    stage: str
    total: int = 0  # samples of the stage (rows x samples)
    already_ok: int = 0  # stored as 'ok' before this run
    kept_errors: int = 0  # stored as 'error' and not retried (no retry_errors)
    ok: int = 0  # new 'ok' samples
    errors: int = 0  # new 'error' rows
    requests: int = 0  # requests sent (attempts included)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    timeouts: int = 0  # requests that timed out (attempts included)
    concurrency: int = 1  # requests in flight at most
    unreachable: str | None = None  # the message when the model was given up (Breaker)

    @property
    def complete(self) -> bool:
        """Every sample of the stage is stored with status 'ok'."""
        return self.already_ok + self.ok == self.total

    @property
    def failed(self) -> int:
        """Samples of the stage not stored as 'ok' (error rows, new or kept)."""
        return self.total - self.already_ok - self.ok


ProgressFn = Callable[[GenProgress], Any]  # or a StageProgress-like object, see GenProgress


@dataclass
class _Work:
    row: GenRow
    prompt: str
    samples: list[int]  # sample indices still to get
    seed: int


@dataclass
class _Context:
    stage_id: str
    model: ModelPlan
    prompt_plan: PromptPlan
    params: dict[str, Any]
    use_n: bool
    send_seed: bool
    writer: CallWriter
    stats: GenStats
    todo: int
    caller: Caller | None = None
    progress: Any = None
    done: int = 0  # samples finished by this run (ok or error)
    reported_errors: int = 0
    reported_status: str = ""
    stop: bool = False  # writing failed: start no more requests
    last_progress: float = 0.0
    n_honoured: bool | None = None  # what requests for several samples showed, if any


def run_generate(con, plan: Plan, stage: Stage, rows: Rows, *,
                 model: ModelPlan | None = None, progress: ProgressFn | None = None,
                 retry_errors: bool = False, ledger: Ledger | None = None,
                 retry_base_s: float = 0.5, register: bool = True) -> GenStats:
    """Answer every (row, sample) of `stage` not yet stored as 'ok'; write `calls` rows (and
    answer texts) in batches. `model` is the model to ask, as the intervention resolved it
    (by default the stage's declared model). Raises BudgetExceeded (after storing everything
    answered) when the `ledger`'s budget runs out, RunError when the model refuses the key.
    `retry_base_s` is the first pause before retrying a failed request (doubling, with
    jitter). `register`: record the stage in `generations` (what the views count); the
    calibrate stage's answers are not evaluated answers, so it does not."""
    started = time.monotonic()
    key = stage.key
    iv = plan.intervention(key.intervention)
    prompt_plan = plan.prompt(iv.prompt)
    if model is None:
        model = plan.model(key.model)
    gen_hash = stage.hash
    if register:
        _register_generation(con, plan, stage, model, iv, prompt_plan)

    stats = GenStats(stage=stage.id, total=len(rows) * iv.samples)
    # What is stored, one byte per (row, sample): the rows themselves (texts, prompts) are
    # read and rendered only as requests go out.
    stored = sample_statuses(con, gen_hash, iv.samples)
    ids = row_ids(rows)
    status = np.zeros((len(ids), iv.samples), dtype=np.int8)
    known = ids < len(stored)
    status[known] = stored[ids[known]]
    stats.already_ok = int((status == OK).sum())
    if retry_errors:
        need = status != OK
    else:
        stats.kept_errors = int((status == ERROR).sum())
        need = status == 0
    todo = int(need.sum())
    n_work = int(need.any(axis=1).sum())
    stats.concurrency = max(1, min(model.concurrency, n_work))
    if not n_work:
        stats.seconds = time.monotonic() - started
        if progress is not None:
            _emit(progress, stage.id, stats, 0, "")
        return stats
    if ledger is not None and ledger.exhausted:
        raise ledger.exceeded()

    from steerdsl.llm import completion as llm
    from steerdsl.store import capabilities

    api_key = api_key_for(model)
    ctx = _Context(
        stage_id=stage.id, model=model, prompt_plan=prompt_plan,
        params=llm.sampling_params(model, iv.sampling),
        # An endpoint seen ignoring n (an earlier run) is asked one sample per request.
        use_n=iv.samples > 1 and llm.supports_param(model, "n")
        and capabilities.honoured(con, model, "n") is not False,
        send_seed=llm.supports_param(model, "seed"),
        writer=CallWriter(con, gen_hash, stored={(int(r), int(k)) for r, k in
                                                 np.argwhere(stored == ERROR)}),
        stats=stats, todo=todo, progress=progress)
    ctx.caller = Caller(model, api_key, ledger=ledger, retry_base_s=retry_base_s,
                        stopped=lambda: ctx.stop)
    try:
        asyncio.run(_generate(ctx, _work(plan, stage, rows, need), n_work))
    finally:
        stats.requests = ctx.caller.requests
        stats.timeouts = ctx.caller.timeouts
        if ctx.caller.breaker.tripped:
            from steerdsl.stages.generate.failures import describe_unreachable

            breaker = ctx.caller.breaker
            stats.unreachable = describe_unreachable(model, breaker.last_error,
                                                     breaker.consecutive)
        ctx.writer.flush()
        if ctx.n_honoured is not None:
            capabilities.record(con, model, "n", ctx.n_honoured)
        stats.seconds = time.monotonic() - started
        _report(ctx, force=True)
    if ctx.caller.ledger.exhausted:
        raise ctx.caller.ledger.exceeded()
    return stats


def _register_generation(con, plan: Plan, stage: Stage, model: ModelPlan, iv: InterventionPlan,
                         prompt: PromptPlan) -> None:
    settings = canonical_json({"model": model.model_dump(mode="json"),
                               "intervention": iv.model_dump(mode="json"),
                               "prompt": prompt.model_dump(mode="json")})
    register_generation(con, stage.hash, stage.key.model, iv.name,
                        plan.stage(ProbeKey(probe=stage.key.probe)).hash, settings)


def _work(plan: Plan, stage: Stage, rows: Rows, need: np.ndarray) -> Iterator[_Work]:
    """The rows with samples to get, prompts rendered as the pool asks for the next row."""
    key = stage.key
    prompt = RowPrompts(plan, stage)
    for row, wanted in zip(rows, need):
        if not wanted.any():
            continue
        sample_seed = derive_seed(plan.experiment.seed, "sample", key.model, key.intervention,
                                  str(row.row_id))
        yield _Work(row, prompt(row), np.flatnonzero(wanted).tolist(), sample_seed)


async def _generate(ctx: _Context, work: Iterator[_Work], n_work: int) -> None:
    n_workers = max(1, min(ctx.model.concurrency, n_work))
    await run_pool(work, lambda item: _answer(ctx, item), n_workers,
                   halted=lambda: ctx.caller.halted, tick=lambda: _tick(ctx),
                   tick_s=PROGRESS_EVERY_S)


def _tick(ctx: _Context) -> None:
    """The single writer's clock: flush at least every flush_s (or every flush_rows rows),
    report progress."""
    if ctx.writer.due():
        # In the loop's thread: a batch takes milliseconds, and writing from a worker
        # thread measured slower (GIL hand-offs) than blocking the loop that briefly.
        try:
            ctx.writer.flush()
        except Exception:  # the store failed: stop asking (retries too), raised after
            ctx.stop = True
            raise
    _report(ctx)


def _report(ctx: _Context, force: bool = False) -> None:
    if ctx.progress is None:
        return
    now = time.monotonic()
    if not force and now - ctx.last_progress < PROGRESS_EVERY_S:
        return
    ctx.last_progress = now
    p = ctx.progress
    if hasattr(p, "update"):
        if ctx.stats.errors > ctx.reported_errors:
            p.error(ctx.stats.errors - ctx.reported_errors)
            ctx.reported_errors = ctx.stats.errors
        if ctx.caller.pacer.status != ctx.reported_status:
            p.status(ctx.caller.pacer.status)
            ctx.reported_status = ctx.caller.pacer.status
    _emit(p, ctx.stage_id, ctx.stats, ctx.done, ctx.caller.pacer.status)


def _emit(progress, stage_id: str, stats: GenStats, done_now: int, status: str) -> None:
    done = stats.already_ok + stats.kept_errors + done_now
    if hasattr(progress, "update"):
        progress.update(done, stats.total)
    else:
        progress(GenProgress(stage=stage_id, done=done, total=stats.total, errors=stats.errors,
                             status=status, cost=stats.cost))


async def _answer(ctx: _Context, item: _Work) -> None:
    """Get every missing sample of one row. A success that brings fewer answers than asked
    (a server that ignores n) is followed by requests for the missing ones."""
    stats = ctx.stats
    remaining = list(item.samples)
    while remaining:
        k = len(remaining) if ctx.use_n else 1
        params = dict(ctx.params)
        if ctx.send_seed:
            # Sample s always gets seed + s, however the samples are batched into requests.
            params["seed"] = (item.seed + remaining[0]) % 2**31
        out = await ctx.caller.call(item.prompt, k, params)
        if out is None:
            return  # budget or a dead server: the remaining samples stay missing, for a later run
        if out.error is not None:
            _record_errors(ctx, item, remaining, out)
            return
        completion = out.completion
        if k > 1:
            _observe_n(ctx, len(completion.contents) >= k)
        got = out.contents[:len(remaining)]
        # One request's usage and cost are shared by the samples it produced.
        pt = _split(completion.prompt_tokens, len(got))
        ct = _split(completion.completion_tokens, len(got))
        cost = None if completion.cost is None else completion.cost / len(got)
        reasons = out.finish_reasons
        for i, (sample, raw) in enumerate(zip(remaining, got)):
            ctx.writer.add(CallRecord(
                row_id=item.row.row_id, sample=sample, prompt=item.prompt, status="ok",
                raw_answer=raw, answer=clean_answer(raw, ctx.prompt_plan),
                prompt_tokens=pt[i], completion_tokens=ct[i], cost=cost,
                latency_s=out.latency_s, server_s=completion.server_s, attempts=out.attempts,
                finish_reason=reasons[i] if i < len(reasons) else None,
                deployment=completion.deployment))
        stats.ok += len(got)
        stats.prompt_tokens += completion.prompt_tokens or 0
        stats.completion_tokens += completion.completion_tokens or 0
        ctx.done += len(got)
        remaining = remaining[len(got):]
        if completion.cost:
            stats.cost += completion.cost
        _report(ctx)
        if ctx.caller.halted:
            return


def _observe_n(ctx: _Context, honoured: bool) -> None:
    """A request for several samples that brought fewer choices: the server ignores `n`.
    Ask one sample per request from now on; the stage remembers it in the store."""
    if not honoured:
        ctx.use_n = False
    if ctx.n_honoured is not False:
        ctx.n_honoured = honoured


def _record_errors(ctx: _Context, item: _Work, samples: list[int], out) -> None:
    for sample in samples:
        ctx.writer.add(CallRecord(row_id=item.row.row_id, sample=sample, prompt=item.prompt,
                                  status="error", error=out.error, error_kind=out.error_kind,
                                  latency_s=out.latency_s, attempts=out.attempts))
    ctx.stats.errors += len(samples)
    ctx.done += len(samples)
    _report(ctx)


def _split(total: int | None, parts: int) -> list[int | None]:
    if total is None:
        return [None] * parts
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
