"""The judge stage of a `batch on` judge model: its questions go as provider batch jobs
(steerdsl.stages.batch_jobs, shared with the generate stage and judged goals).

Jobs belong to the judge's identity, like the verdicts they produce: a question is never sent
while a job holding it is open, whichever stage submitted it. Failed and expired requests are
stored as 'error' verdicts with their reason and sent again only with --retry-errors (a batch
window is long: a run does not resend on its own what the provider just failed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from steerdsl.plan.model import ModelPlan, SamplingParams, Stage
from steerdsl.stages.batch_jobs import Answer, BatchJobs, Request
from steerdsl.stages.context import RunContext
from steerdsl.store.batches import Owner
from steerdsl.store.verdicts import VerdictRecord, VerdictWriter

if TYPE_CHECKING:
    from steerdsl.stages.judge import Question


def _item(q: Question) -> str:
    return f"{q.source_hash}:{q.answer_hash}:{int(q.swapped)}"


@dataclass
class _Verdicts:
    """The Handler (steerdsl.stages.batch_jobs) writing a judge's verdicts."""

    writer: VerdictWriter
    bar: Any
    done: int  # questions with a stored outcome, shown on the progress line
    errors: int = 0

    def answered(self, item: str, answer: Answer) -> None:
        from steerdsl.grounding.parse import parse_verdict

        source, ans, swapped = item.split(":")
        v = parse_verdict(answer.raw)
        self.writer.add(VerdictRecord(source, ans, swapped == "1", "ok", verdict=v.verdict,
                                      rationale=v.rationale, raw=answer.raw,
                                      prompt_tokens=answer.prompt_tokens,
                                      completion_tokens=answer.completion_tokens,
                                      cost=answer.cost))
        self.done += 1

    def failed(self, item: str, error: str, kind: str) -> None:
        source, ans, swapped = item.split(":")
        self.writer.add(VerdictRecord(source, ans, swapped == "1", "error", error=error,
                                      error_kind=kind))
        self.done += 1
        self.errors += 1
        self.bar.error(1)

    def flush(self) -> None:
        self.writer.flush()

    def report(self, text: str) -> None:
        self.bar.status(text)
        self.bar.update(self.done)


def judge_by_batch(ctx: RunContext, stage: Stage, model: ModelPlan, judge_id: str,
                   todo: list[Question], stored: dict[tuple[str, str, bool], str], bar,
                   already: int, seed_of: Callable[[Question], int]) -> int:
    """Collect the judge's open jobs, submit the questions of `todo` (those without an 'ok'
    verdict) not in one, and with ctx.wait poll until every job is collected. Returns the
    jobs still open (--no-wait). `seed_of`: a question's seed, as the streamed path sends it."""
    from steerdsl.llm.completion import sampling_params, supports_param

    verdicts = _Verdicts(VerdictWriter(ctx.con, judge_id), bar, already)
    jobs = BatchJobs(ctx.con, Owner("judge", judge_id), f"stage {stage.id}", model, verdicts,
                     ledger=ctx.ledger, report=verdicts.report)
    pending = jobs.pending()
    params = sampling_params(model, SamplingParams())
    send_seed = supports_param(model, "seed")
    requests = []
    for q in todo:
        item = _item(q)
        status = stored.get((q.source_hash, q.answer_hash, q.swapped))
        if item in pending or (status == "error" and not ctx.retry_errors):
            continue
        p = dict(params)
        if send_seed:
            p["seed"] = seed_of(q)
        requests.append(Request(item, "v" + hashlib.sha256(item.encode()).hexdigest()[:24],
                                q.prompt, p))
    jobs.submit(requests, params.get("max_tokens"))
    return jobs.poll(ctx.wait)
