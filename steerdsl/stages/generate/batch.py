"""The generate stage of a `batch on` model: its requests go as provider batch jobs.

Submitting: the samples not stored (and not in a job still open) become JSONL requests with
custom ids r{row}-s{sample} (-{k} for the k-th retry), split into jobs within the provider's
limits. Each job's file id and requests are stored as soon as the file is uploaded, its batch
id as soon as the batch is accepted (steerdsl.store.batches), before any waiting: a rerun
after a kill polls the same jobs and submits nothing twice. Collecting: a finished job's
output and error files are matched by custom id into `calls` like streamed answers; failed and
expired requests become error rows (--retry-errors sends them again, in a new job).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from steerdsl.errors import RunError
from steerdsl.llm import batches as api
from steerdsl.llm.budget import BudgetExceeded, Ledger, usd
from steerdsl.llm.completion import CallFailed, sampling_params, supports_param
from steerdsl.llm.keys import api_key_for
from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import ModelPlan, Plan, Stage
from steerdsl.prompts.clean import clean_answer
from steerdsl.prompts.render import row_prompt
from steerdsl.stages.generate.engine import GenRow, GenStats, _emit, _register_generation
from steerdsl.store import batches as store
from steerdsl.store.calls import CallRecord, CallWriter, done_samples
from steerdsl.words import count

POLL_S = float(os.environ.get("STEERDSL_BATCH_POLL_S", "30"))  # seconds between polls


class BatchOverBudget(BudgetExceeded):
    """A job would cost more than the budget has left: refused before submitting."""

    def __init__(self, spent: float, limit: float, estimate: float, requests: int) -> None:
        super().__init__(spent, limit)
        RunError.__init__(self, f"budget {usd(limit)}: a batch job of "
                          f"{count(requests, 'request')} would cost up to about "
                          f"{usd(estimate)} and {usd(spent)} is spent; not submitted: raise "
                          "the budget and rerun")


@dataclass
class BatchStats(GenStats):
    jobs_open: int = 0  # jobs still at the provider when the stage returned (--no-wait)
    jobs: dict[str, str] = field(default_factory=dict)  # file id -> last status seen


@dataclass
class _Stage:
    con: Any
    gen_hash: str
    stage_id: str
    model: ModelPlan
    client: api.BatchClient
    prompts: dict[int, str]
    prompt_plan: Any
    stats: BatchStats
    ledger: Ledger | None
    progress: Any
    reserved: float = 0.0  # estimated cost of the jobs this run submitted
    reported_errors: int = 0


def run_batch_generate(con, plan: Plan, stage: Stage, rows: list[GenRow], *, model: ModelPlan,
                       progress: Any = None, retry_errors: bool = False,
                       ledger: Ledger | None = None, wait: bool = True) -> BatchStats:
    """Collect the stage's open jobs, submit what is missing, and (with `wait`) poll until
    every job is finished and its results stored."""
    started = time.monotonic()
    key = stage.key
    iv = plan.intervention(key.intervention)
    prompt_plan = plan.prompt(iv.prompt)
    _register_generation(con, plan, stage, model, iv, prompt_plan)
    stats = BatchStats(stage=stage.id, total=len(rows) * iv.samples)
    prompts: dict[int, str] = {}
    for row in rows:
        try:
            prompts[row.row_id] = row_prompt(plan.experiment.seed, prompt_plan, iv, row.row_id,
                                             row.deltas, row.text, row.keep)
        except ValueError as e:
            raise RunError(f"stage {stage.id}, probe row {row.row_id}: {e}") from None
    client = api.BatchClient(model, api_key_for(model))
    st = _Stage(con, stage.hash, stage.id, model, client, prompts, prompt_plan, stats, ledger,
                progress)

    stored = done_samples(con, stage.hash)
    pending = store.pending_samples(con, stage.hash)
    todo: list[tuple[int, int]] = []
    for row in rows:
        for s in range(iv.samples):
            status = stored.get((row.row_id, s))
            if status == "ok":
                stats.already_ok += 1
            elif status == "error" and not retry_errors and (row.row_id, s) not in pending:
                stats.kept_errors += 1
            elif (row.row_id, s) not in pending:
                todo.append((row.row_id, s))
    params = sampling_params(model, iv.sampling)
    seeds = None
    if supports_param(model, "seed"):
        seeds = {r.row_id: derive_seed(plan.experiment.seed, "sample", key.model, iv.name,
                                       str(r.row_id)) for r in rows}
    if todo:
        _submit(st, todo, params, seeds)
    _poll(st, wait)
    stats.seconds = time.monotonic() - started
    return stats


def _submit(st: _Stage, todo: list[tuple[int, int]], params: dict[str, Any],
            seeds: dict[int, int] | None) -> None:
    sent = store.sent_counts(st.con, st.gen_hash)
    ids, lines = [], []
    for row_id, sample in todo:
        k = sent.get((row_id, sample), 0)
        custom_id = f"r{row_id}-s{sample}" + (f"-{k}" if k else "")
        p = dict(params)
        if seeds is not None:  # sample s gets seed + s, as in the streamed path
            p["seed"] = (seeds[row_id] + sample) % 2**31
        ids.append((custom_id, row_id, sample))
        lines.append(api.request_line(custom_id, st.client.model_id, st.prompts[row_id], p))
    for job in api.split_jobs(lines):
        _check_budget(st, [st.prompts[ids[i][1]] for i in job], params.get("max_tokens"))
        file_id = _ask(st, "upload", b"".join(lines[i] for i in job))
        store.add_upload(st.con, st.gen_hash, file_id, st.client.provider, [ids[i] for i in job])
        _create(st, file_id)
        st.stats.requests += len(job)


def _create(st: _Stage, file_id: str, adopt: bool = False) -> None:
    """A batch over an uploaded file; `adopt`: first look for one a killed run created."""
    found = st.client.find(file_id) if adopt else None
    job_id, status = found or _ask(st, "create", file_id)
    store.set_job_id(st.con, file_id, job_id, status)
    st.stats.jobs[file_id] = status


def _check_budget(st: _Stage, prompts: list[str], max_tokens: int | None) -> None:
    ledger = st.ledger
    if ledger is None or ledger.limit is None:
        return
    estimate = api.estimate_cost(st.model, st.client.model_id, prompts, max_tokens)
    if ledger.exhausted or ledger.spent + st.reserved + estimate > ledger.limit:
        raise BatchOverBudget(ledger.spent + st.reserved, ledger.limit, estimate, len(prompts))
    st.reserved += estimate  # the jobs submitted before it count until they are collected


def _poll(st: _Stage, wait: bool) -> None:
    while True:
        jobs = store.open_jobs(st.con, st.gen_hash)
        for job in jobs:
            if job.job_id is None:  # killed between upload and storing the batch id
                _create(st, job.file_id, adopt=True)
                continue
            state = _ask(st, "retrieve", job.job_id)
            info = {"total": state.total, "completed": state.completed,
                    "failed": state.failed, "errors": state.errors}
            store.update_job(st.con, job.file_id, state.status, state.output_file_id,
                             state.error_file_id, info)
            st.stats.jobs[job.file_id] = state.status
            if state.final:
                _collect(st, job, state)
        open_now = store.open_jobs(st.con, st.gen_hash)
        st.stats.jobs_open = len(open_now)
        _report(st)
        if not open_now or not wait:
            return
        time.sleep(POLL_S)


def _collect(st: _Stage, job: store.BatchJob, state: api.JobState) -> None:
    """Store a finished job's results in `calls` (again, harmlessly, after a kill during the
    previous collection: its rows are replaced), then mark it finished."""
    requests = store.job_requests(st.con, st.gen_hash, job.file_id)
    results: dict[str, api.Result] = {}
    for file_id in (state.output_file_id, state.error_file_id):
        if file_id:
            results.update((r.custom_id, r) for r in _ask(st, "results", file_id))
    stored = set(done_samples(st.con, st.gen_hash))
    writer = CallWriter(st.con, st.gen_hash, stored={k for k in requests.values() if k in stored})
    why = "expired: not run within the provider's batch window" if state.status == "expired" \
        else f"batch {state.status}" + (f": {state.errors}" if state.errors else "")
    for custom_id, (row_id, sample) in requests.items():
        result = results.get(custom_id) or api.Result(
            custom_id, None, why, "expired" if state.status == "expired" else "retry")
        _record(st, writer, row_id, sample, result)
    writer.flush()
    store.finish_job(st.con, job.file_id)


def _record(st: _Stage, writer: CallWriter, row_id: int, sample: int,
            result: api.Result) -> None:
    prompt = st.prompts.get(row_id, "")
    stats = st.stats
    if result.body is not None:
        contents, reasons = api.answers(result.body)
        raw = contents[0] if contents else None
        if raw is not None:
            usage = result.body.get("usage") or {}
            pt, ct = usage.get("prompt_tokens"), usage.get("completion_tokens")
            cost = api.batch_cost(st.model, st.client.model_id, pt, ct)
            writer.add(CallRecord(row_id=row_id, sample=sample, prompt=prompt, status="ok",
                                  raw_answer=raw, answer=clean_answer(raw, st.prompt_plan),
                                  prompt_tokens=pt, completion_tokens=ct, cost=cost,
                                  finish_reason=reasons[0]))
            stats.ok += 1
            stats.prompt_tokens += pt or 0
            stats.completion_tokens += ct or 0
            stats.cost += cost or 0.0
            if st.ledger is not None:
                st.ledger.charge(cost)
            return
        result = api.Result(result.custom_id, None, "empty or malformed answer", "malformed")
    writer.add(CallRecord(row_id=row_id, sample=sample, prompt=prompt, status="error",
                          error=result.error, error_kind=result.error_kind))
    stats.errors += 1


def _ask(st: _Stage, what: str, arg: Any) -> Any:
    """One call to the provider, retried (the model's `retries`, a pause growing from 1 s)
    while the failure may pass; a RunError after that: the stored jobs stay, a rerun resumes."""
    for attempt in range(st.model.retries + 1):
        try:
            return getattr(st.client, what)(arg)
        except CallFailed as e:
            if not e.retryable or attempt == st.model.retries:
                raise RunError(f"stage {st.stage_id}: batch {what} failed: {e.message}; jobs "
                               "submitted so far are stored: rerun to continue") from None
            time.sleep(min(30.0, 2.0 ** attempt))


def _report(st: _Stage) -> None:
    statuses = list(st.stats.jobs.values())
    done = sum(s in api.FINAL for s in statuses)
    text = (f"batch jobs: {len(statuses)} submitted, {len(statuses) - done} in progress, "
            f"{done} completed") if statuses else ""
    p = st.progress
    if p is None:
        return
    if hasattr(p, "status"):
        p.status(text)
        if st.stats.errors > st.reported_errors:
            p.error(st.stats.errors - st.reported_errors)
            st.reported_errors = st.stats.errors
    _emit(p, st.stage_id, st.stats, st.stats.ok + st.stats.errors, text)
