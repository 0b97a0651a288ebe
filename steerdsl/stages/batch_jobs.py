"""Provider batch jobs for work of a `batch on` model: the one implementation behind the generate
stage, the judge stage and judged goals.

The work hands over its requests (what each answers, a custom id, the prompt and sampling
parameters) and a `Handler` that stores outcomes. Submitting: the requests are split into jobs
within the provider's limits; each job's cost is checked against the budget, its file is
uploaded and its requests stored (steerdsl.store.batches) before the batch is created, and the
batch id is stored as soon as the provider accepts it: a rerun after a kill polls the same jobs
and submits nothing twice. Collecting: a finished job's output and error files are matched by
custom id and every request's outcome handed to the handler (an answer, or an error with its
reason: failed and expired requests), which writes them before the job is marked finished.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from steerdsl.errors import RunError
from steerdsl.llm import batches as api
from steerdsl.llm.budget import BudgetExceeded, Ledger, usd
from steerdsl.llm.completion import CallFailed
from steerdsl.llm.keys import api_key_for
from steerdsl.plan.model import ModelPlan
from steerdsl.store import batches as store
from steerdsl.store.batches import JobRequests, Owner
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


@dataclass(frozen=True)
class Request:
    """One request to submit."""

    item: str  # what it answers, as the owner keys it (stable across runs)
    base_id: str  # its custom id; the k-th resend of the same item gets "-k" appended
    prompt: str
    params: dict[str, Any]
    row: tuple[int, int] | None = None  # a generate request's (probe row, sample)


@dataclass(frozen=True)
class Answer:
    """A request that succeeded: its (first) answer and what it cost at the batch price."""

    raw: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None


class Handler(Protocol):
    """Stores the outcomes of a finished job's requests."""

    def answered(self, item: str, answer: Answer) -> None: ...

    def failed(self, item: str, error: str, kind: str) -> None: ...

    def flush(self) -> None:
        """Write what was handed over: the job is marked finished right after."""


@dataclass
class BatchCounts:
    requests: int = 0  # submitted by this run
    jobs: dict[str, str] = field(default_factory=dict)  # file id -> last status seen
    jobs_open: int = 0  # jobs still at the provider after the last poll

    def status(self) -> str:
        """What the progress line shows: the jobs, by state."""
        statuses = list(self.jobs.values())
        done = sum(s in api.FINAL for s in statuses)
        return (f"batch jobs: {len(statuses)} submitted, {len(statuses) - done} in progress, "
                f"{done} completed") if statuses else ""


class BatchJobs:
    """The batch jobs of one owner (steerdsl.store.batches.Owner) at one model's provider."""

    def __init__(self, con, owner: Owner, label: str, model: ModelPlan, handler: Handler, *,
                 ledger: Ledger | None = None,
                 report: Callable[[str], None] | None = None) -> None:
        self.con = con
        self.owner = owner
        self.label = label  # who submits, for messages ("stage judge:fake/direct")
        self.model = model
        self.handler = handler
        self.ledger = ledger
        self.report = report
        self.client = api.BatchClient(model, api_key_for(model))
        self.counts = BatchCounts()
        self.reserved = 0.0  # estimated cost of the jobs this run submitted

    def pending(self) -> set[str]:
        """Items of requests in jobs whose results are not stored yet: never sent again."""
        return store.pending_items(self.con, self.owner)

    def submit(self, requests: Iterable[Request], max_tokens: int | None) -> None:
        """Submit `requests` (read once, as they come) as jobs: each job's file is written
        line by line and, when full, its budget checked before its upload; only the custom
        ids of the job being written are kept in memory."""
        sent = store.sent_counts(self.con, self.owner)
        job, stored, chars = api.JobFile(), JobRequests(), 0
        try:
            for r in requests:
                k = sent.get(r.item, 0)
                custom_id = r.base_id + (f"-{k}" if k else "")
                line = api.request_line(custom_id, self.client.model_id, r.prompt, r.params)
                if not job.fits(line):
                    self._submit_job(job, stored, chars, max_tokens)
                    job.close()
                    job, stored, chars = api.JobFile(), JobRequests(), 0
                job.add(line)
                stored.add(custom_id, r.item, r.row)
                chars += len(r.prompt)
            if stored:
                self._submit_job(job, stored, chars, max_tokens)
        finally:
            job.close()

    def _submit_job(self, job: api.JobFile, stored: JobRequests, chars: int,
                    max_tokens: int | None) -> None:
        self._check_budget(chars, len(stored), max_tokens)
        file_id = self._ask("upload", job.rewound())
        store.add_upload(self.con, self.owner, file_id, self.client.provider, stored)
        self._create(file_id)
        self.counts.requests += len(stored)

    def poll(self, wait: bool) -> int:
        """Collect every finished job; with `wait`, until none is left. The jobs still open."""
        while True:
            for job in store.open_jobs(self.con, self.owner):
                if job.job_id is None:  # killed between upload and storing the batch id
                    self._create(job.file_id, adopt=True)
                    continue
                state = self._ask("retrieve", job.job_id)
                info = {"total": state.total, "completed": state.completed,
                        "failed": state.failed, "errors": state.errors}
                store.update_job(self.con, job.file_id, state.status, state.output_file_id,
                                 state.error_file_id, info)
                self.counts.jobs[job.file_id] = state.status
                if state.final:
                    self._collect(job, state)
            self.counts.jobs_open = len(store.open_jobs(self.con, self.owner))
            if self.report is not None:
                self.report(self.counts.status())
            if not self.counts.jobs_open or not wait:
                return self.counts.jobs_open
            time.sleep(POLL_S)

    def _create(self, file_id: str, adopt: bool = False) -> None:
        """A batch over an uploaded file; `adopt`: first look for one a killed run created."""
        found = self.client.find(file_id) if adopt else None
        job_id, status = found or self._ask("create", file_id)
        store.set_job_id(self.con, file_id, job_id, status)
        self.counts.jobs[file_id] = status

    def _check_budget(self, prompt_chars: int, requests: int, max_tokens: int | None) -> None:
        ledger = self.ledger
        if ledger is None or ledger.limit is None:
            return
        estimate = api.estimate_cost(self.model, self.client.model_id, prompt_chars, requests,
                                     max_tokens)
        if ledger.exhausted or ledger.spent + self.reserved + estimate > ledger.limit:
            raise BatchOverBudget(ledger.spent + self.reserved, ledger.limit, estimate,
                                  requests)
        self.reserved += estimate  # the jobs submitted before it count until collected

    def _collect(self, job: store.BatchJob, state: api.JobState) -> None:
        """Hand a finished job's outcomes to the handler (again, harmlessly, after a kill
        during the previous collection: handlers replace rows), then mark it finished."""
        requests = store.job_requests(self.con, self.owner, job.file_id)
        # the output file, then the error file, one line at a time; a custom id that is in
        # both is handed over once, with its error-file outcome, as before
        in_errors: set[str] = set()
        if state.error_file_id and state.output_file_id:
            in_errors = {r.custom_id for r in self._ask("results", state.error_file_id)
                         if r.custom_id in requests}
        for file_id in (state.output_file_id, state.error_file_id):
            if not file_id:
                continue
            for result in self._ask("results", file_id):
                item = requests.pop(result.custom_id, None)
                if item is None:
                    continue
                if file_id == state.output_file_id and result.custom_id in in_errors:
                    requests[result.custom_id] = item  # its error-file line decides
                    continue
                self._hand_over(item, result)
        expired = state.status == "expired"
        why = "expired: not run within the provider's batch window" if expired \
            else f"batch {state.status}" + (f": {state.errors}" if state.errors else "")
        for custom_id, item in requests.items():  # the requests neither file answers
            self._hand_over(item, api.Result(custom_id, None, why,
                                             "expired" if expired else "retry"))
        self.handler.flush()
        store.finish_job(self.con, job.file_id)

    def _hand_over(self, item: str, result: api.Result) -> None:
        if result.body is not None:
            contents, reasons = api.answers(result.body)
            if contents and contents[0] is not None:
                usage = result.body.get("usage") or {}
                pt, ct = usage.get("prompt_tokens"), usage.get("completion_tokens")
                cost = api.batch_cost(self.model, self.client.model_id, pt, ct)
                if self.ledger is not None:
                    self.ledger.charge(cost)
                self.handler.answered(item, Answer(contents[0], reasons[0], pt, ct, cost))
                return
            result = api.Result(result.custom_id, None, "empty or malformed answer",
                                "malformed")
        self.handler.failed(item, result.error or "failed", result.error_kind or "retry")

    def _ask(self, what: str, arg: Any) -> Any:
        """One call to the provider, retried (the model's `retries`, a pause growing from 1 s)
        while the failure may pass; a RunError after that: the stored jobs stay, a rerun
        resumes."""
        for attempt in range(self.model.retries + 1):
            try:
                return getattr(self.client, what)(arg)
            except CallFailed as e:
                if not e.retryable or attempt == self.model.retries:
                    raise RunError(f"{self.label}: batch {what} failed: {e.message}; jobs "
                                   "submitted so far are stored: rerun to continue") from None
                time.sleep(min(30.0, 2.0 ** attempt))
