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

from steerdsl.errors import RunError
from steerdsl.llm.budget import Ledger
from steerdsl.llm.completion import sampling_params, supports_param
from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import ModelPlan, Plan, Stage
from steerdsl.prompts.clean import clean_answer
from steerdsl.prompts.render import row_prompt
from steerdsl.stages.batch_jobs import Answer, BatchJobs, Request
from steerdsl.stages.generate.engine import GenRow, GenStats, _emit, _register_generation
from steerdsl.store.batches import Owner
from steerdsl.store.calls import CallRecord, CallWriter, done_samples


@dataclass
class BatchStats(GenStats):
    jobs_open: int = 0  # jobs still at the provider when the stage returned (--no-wait)
    jobs: dict[str, str] = field(default_factory=dict)  # file id -> last status seen


def _item(row_id: int, sample: int) -> str:
    return f"{row_id}:{sample}"


@dataclass
class _Calls:
    """The Handler (steerdsl.stages.batch_jobs) writing a generate stage's results to calls."""

    con: Any
    gen_hash: str
    stage_id: str
    prompts: dict[int, str]
    prompt_plan: Any
    stats: BatchStats
    progress: Any
    writer: CallWriter | None = None
    reported_errors: int = 0

    def _writer(self) -> CallWriter:
        if self.writer is None:  # a stored row is replaced (an error resent; a job collected
            # again after a kill during its collection)
            self.writer = CallWriter(self.con, self.gen_hash,
                                     stored=set(done_samples(self.con, self.gen_hash)))
        return self.writer

    def answered(self, item: str, answer: Answer) -> None:
        row_id, sample = map(int, item.split(":"))
        self._writer().add(CallRecord(
            row_id=row_id, sample=sample, prompt=self.prompts.get(row_id, ""), status="ok",
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
        self._writer().add(CallRecord(row_id=row_id, sample=sample,
                                      prompt=self.prompts.get(row_id, ""), status="error",
                                      error=error, error_kind=kind))
        self.stats.errors += 1

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer = None  # the next job sees these rows as stored

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
    calls = _Calls(con, stage.hash, stage.id, prompts, prompt_plan, stats, progress)
    jobs = BatchJobs(con, Owner("generate", stage.hash), f"stage {stage.id}", model, calls,
                     ledger=ledger, report=calls.report)

    stored = done_samples(con, stage.hash)
    pending = jobs.pending()
    params = sampling_params(model, iv.sampling)
    send_seed = supports_param(model, "seed")

    def todo() -> Iterator[Request]:  # read as the jobs' files are written
        for row in rows:
            seed = derive_seed(plan.experiment.seed, "sample", key.model, iv.name,
                               str(row.row_id))
            for s in range(iv.samples):
                status = stored.get((row.row_id, s))
                if status == "ok":
                    stats.already_ok += 1
                elif _item(row.row_id, s) in pending:
                    continue
                elif status == "error" and not retry_errors:
                    stats.kept_errors += 1
                else:
                    p = dict(params)
                    if send_seed:  # sample s gets seed + s, as in the streamed path
                        p["seed"] = (seed + s) % 2**31
                    yield Request(_item(row.row_id, s), f"r{row.row_id}-s{s}",
                                  prompts[row.row_id], p, row=(row.row_id, s))

    jobs.submit(todo(), params.get("max_tokens"))
    stats.requests = jobs.counts.requests
    stats.jobs_open = jobs.poll(wait)
    stats.jobs = jobs.counts.jobs
    stats.seconds = time.monotonic() - started
    return stats
