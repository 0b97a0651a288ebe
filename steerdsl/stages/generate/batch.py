"""The generate stage of a `batch on` model: its requests go as provider batch jobs
(steerdsl.stages.batch_jobs, shared with the judge stage and judged goals).

The samples not stored (and not in a job still open) become requests with custom ids
r{row}-s{sample} (-{k} for the k-th resend), items 'ROW:SAMPLE'. A finished job's results go
into `calls` like streamed answers; failed and expired requests become error rows
(--retry-errors sends them again, in a new job).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steerdsl.llm.budget import Ledger
from steerdsl.llm.completion import sampling_params, supports_param
from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import ModelPlan, Plan, Stage
from steerdsl.prompts.clean import clean_answer
from steerdsl.stages.batch_jobs import Answer, BatchJobs, Request
from steerdsl.stages.generate.engine import GenStats, _emit, _register_generation
from steerdsl.stages.generate.rows import GenRow, ProbeRequests, RowPrompts, Rows, row_ids
from steerdsl.store.batches import Owner, pending_rows
from steerdsl.store.calls import (ERROR, OK, CallRecord, CallWriter, StoredSamples,
                                  sample_statuses)
from steerdsl.store.probes import request_rows


@dataclass
class BatchStats(GenStats):
    jobs_open: int = 0  # jobs still at the provider when the stage returned (--no-wait)
    jobs: dict[str, str] = field(default_factory=dict)  # file id -> last status seen


WRITE_ROWS = 1000  # results written to calls at once (their prompts rendered then)


def _item(row_id: int, sample: int) -> str:
    return f"{row_id}:{sample}"


class _Prompts:
    """Each probe row's prompt, rendered when asked for: a stored probe's rows are read by id
    (a batch of results at a time), so no prompt is kept per row."""

    def __init__(self, con, plan: Plan, stage: Stage, rows: Rows) -> None:
        self.con = con
        self.render = RowPrompts(plan, stage)
        self.rows = rows
        self.by_id: dict[int, GenRow] | None = None  # a list of rows (tests), by id

    def of(self, row_ids: set[int]) -> dict[int, str]:
        """row_id -> prompt of the rows of `row_ids` that the stage's probe has."""
        rows = self.rows
        if isinstance(rows, ProbeRequests):
            got = [GenRow(row_id=r, text=t, deltas=d)
                   for r, t, d in request_rows(self.con, rows.probe_hash, row_ids)]
        else:
            if self.by_id is None:
                self.by_id = {row.row_id: row for row in rows}
            got = [self.by_id[r] for r in row_ids if r in self.by_id]
        return {row.row_id: self.render(row) for row in got}


@dataclass
class _Calls:
    """The Handler (steerdsl.stages.batch_jobs) writing a generate stage's results to calls,
    `WRITE_ROWS` at a time, each with its prompt rendered then."""

    con: Any
    gen_hash: str
    stage_id: str
    prompts: _Prompts
    prompt_plan: Any
    stats: BatchStats
    progress: Any
    stored: StoredSamples  # replaced when written again: an error resent; a job collected
    # again after a kill during its collection
    buffer: list[CallRecord] = field(default_factory=list)
    writer: CallWriter | None = None
    reported_errors: int = 0

    def _add(self, record: CallRecord) -> None:
        self.buffer.append(record)
        if len(self.buffer) >= WRITE_ROWS:
            self._write()

    def _write(self) -> None:
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        if self.writer is None:
            self.writer = CallWriter(self.con, self.gen_hash, stored=self.stored)
        prompts = self.prompts.of({r.row_id for r in batch})
        for record in batch:
            record.prompt = prompts.get(record.row_id, "")
            self.writer.add(record)
        self.writer.flush()

    def answered(self, item: str, answer: Answer) -> None:
        row_id, sample = map(int, item.split(":"))
        self._add(CallRecord(
            row_id=row_id, sample=sample, prompt="", status="ok",
            raw_answer=answer.raw, answer=clean_answer(answer.raw, self.prompt_plan),
            prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
            cost=answer.cost, finish_reason=answer.finish_reason))
        stats = self.stats
        stats.ok += 1
        stats.prompt_tokens += answer.prompt_tokens or 0
        stats.completion_tokens += answer.completion_tokens or 0
        stats.cost += answer.cost or 0.0

    def failed(self, item: str, error: str, kind: str) -> None:
        row_id, sample = map(int, item.split(":"))
        self._add(CallRecord(row_id=row_id, sample=sample, prompt="", status="error",
                             error=error, error_kind=kind))
        self.stats.errors += 1

    def flush(self) -> None:
        self._write()

    def report(self, text: str) -> None:
        p = self.progress
        if p is None:
            return
        if hasattr(p, "status"):
            p.status(text)
            if self.stats.errors > self.reported_errors:
                p.error(self.stats.errors - self.reported_errors)
                self.reported_errors = self.stats.errors
        _emit(p, self.stage_id, self.stats, self.stats.ok + self.stats.errors, text)


def run_batch_generate(con, plan: Plan, stage: Stage, rows: Rows, *, model: ModelPlan,
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
    owner = Owner("generate", stage.hash)
    # What is stored, and what is in a job still open, one byte per (row, sample)
    stored = sample_statuses(con, stage.hash, iv.samples)
    status = _with_pending(stored, pending_rows(con, owner))
    ids = row_ids(rows)
    prompts = _Prompts(con, plan, stage, rows)
    calls = _Calls(con, stage.hash, stage.id, prompts, prompt_plan, stats, progress,
                   StoredSamples(stored, int(ids.max()) + 1 if len(ids) else 0))
    jobs = BatchJobs(con, owner, f"stage {stage.id}", model, calls, ledger=ledger,
                     report=calls.report)
    nothing = np.zeros(iv.samples, dtype=np.int8)
    params = sampling_params(model, iv.sampling)
    send_seed = supports_param(model, "seed")

    def todo() -> Iterator[Request]:  # read as the jobs' files are written
        for row in rows:
            seed = derive_seed(plan.experiment.seed, "sample", key.model, iv.name,
                               str(row.row_id))
            got = status[row.row_id] if row.row_id < len(status) else nothing
            prompt = None
            for s in range(iv.samples):
                if got[s] == OK:
                    stats.already_ok += 1
                elif got[s] == PENDING:
                    continue
                elif got[s] == ERROR and not retry_errors:
                    stats.kept_errors += 1
                else:
                    p = dict(params)
                    if send_seed:  # sample s gets seed + s, as in the streamed path
                        p["seed"] = (seed + s) % 2**31
                    if prompt is None:
                        prompt = prompts.render(row)
                    yield Request(_item(row.row_id, s), f"r{row.row_id}-s{s}", prompt, p,
                                  row=(row.row_id, s))

    jobs.submit(todo(), params.get("max_tokens"))
    stats.requests = jobs.counts.requests
    stats.jobs_open = jobs.poll(wait)
    stats.jobs = jobs.counts.jobs
    stats.seconds = time.monotonic() - started
    return stats


PENDING = 3  # beside sample_statuses' OK and ERROR: in a job not collected yet


def _with_pending(stored: np.ndarray, pending: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """`stored` (sample_statuses) with PENDING where a request is in a job whose results are
    not stored yet (never sent again), unless stored as OK (a collection cut short)."""
    samples = stored.shape[1]
    row_id, sample = pending
    keep = sample < samples
    row_id, sample = row_id[keep], sample[keep]
    rows = max(len(stored), int(row_id.max()) + 1 if len(row_id) else 0)
    status = np.zeros((rows, samples), dtype=np.int8)
    status[:len(stored)] = stored
    open_ = status[row_id, sample] != OK
    status[row_id[open_], sample[open_]] = PENDING
    return status
