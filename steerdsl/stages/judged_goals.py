"""Judged goals of a `batch on` judge model: the texts measure_texts hands the judge go as
provider batch jobs (steerdsl.stages.batch_jobs, shared with the generate and judge stages).

Jobs belong to the goal's measure identity (kind 'goal'), a request to a text (item: its
hash): a text in an open job is never sent again. Collecting a job writes its values into the
measurement cache and its costs into judge_calls before the job is marked finished, so a
value paid for is kept whichever run (or stage) collects it; the texts are saved when they are
submitted, so those rows always have their text. With --no-wait, texts whose jobs are still
open come back as JudgeNotAsked: not cached, the run stops incomplete (RunContext
.stop_if_unmeasured) and a later run collects them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from steerdsl.goals.judge import (
    JudgeCall,
    JudgeFailed,
    JudgeNotAsked,
    RecordFn,
    judge_prompt,
    parse_score,
)
from steerdsl.goals.measure import JudgeFn, judged_value
from steerdsl.llm.budget import Ledger
from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import GoalPlan, ModelPlan, Plan, SamplingParams
from steerdsl.stages.batch_jobs import Answer, BatchJobs, Request
from steerdsl.store import measurements
from steerdsl.store.batches import Owner
from steerdsl.texts import text_hash


@dataclass
class _Values:
    """The Handler (steerdsl.stages.batch_jobs) caching a judged goal's values."""

    con: Any
    goal: GoalPlan
    model: str
    record: RecordFn | None
    results: dict[str, float | BaseException] = field(default_factory=dict)  # by text hash
    _rows: list[tuple[str, str, float | None, str | None]] = field(default_factory=list)
    _calls: list[JudgeCall] = field(default_factory=list)

    def answered(self, item: str, answer: Answer) -> None:
        self._calls.append(JudgeCall(self.goal.measure_id, item, self.model,
                                     answer.prompt_tokens, answer.completion_tokens,
                                     answer.cost, None))
        try:
            self._keep(item, parse_score(answer.raw))
        except JudgeFailed as e:
            self._keep(item, e)

    def failed(self, item: str, error: str, kind: str) -> None:
        self._keep(item, JudgeFailed(f"{error} ({kind}, batch)"))

    def _keep(self, item: str, result: float | BaseException) -> None:
        self.results[item] = result
        value, error = judged_value(self.goal.measure, result)
        self._rows.append((item, self.goal.measure_id, None if error else value, error))

    def flush(self) -> None:
        measurements.write_values(self.con, self._rows)
        if self.record is not None and self._calls:
            self.record(self._calls)
        self._rows, self._calls = [], []


class BatchJudge:
    """The `judge` of measure_texts (steerdsl.goals.measure.JudgeFn) in a run: goals whose
    judge model has `batch on` go by batch, the others to `streamed` (goals.judge.make_judge).
    `jobs_open`: the batch jobs left at the provider by the latest call of each goal."""

    def __init__(self, plan: Plan, con, streamed: JudgeFn, *, ledger: Ledger | None,
                 record: RecordFn | None, wait: bool,
                 progress: Callable[[str], None] | None = None) -> None:
        self.plan = plan
        self.con = con
        self.streamed = streamed
        self.ledger = ledger
        self.record = record
        self.wait = wait
        self.progress = progress
        self.open_by_goal: dict[str, int] = {}

    @property
    def jobs_open(self) -> int:
        return sum(self.open_by_goal.values())

    def __call__(self, goal: GoalPlan, texts: Sequence[str]) -> list[float | BaseException]:
        model = self.plan.model(goal.measure.model)
        if not model.batch:
            return list(self.streamed(goal, texts))
        cur = self.con.cursor()  # measure_texts may hold a result open on its own cursor
        try:
            return self._by_batch(cur, goal, model, list(texts))
        finally:
            cur.close()

    def _by_batch(self, con, goal: GoalPlan, model: ModelPlan,
                  texts: list[str]) -> list[float | BaseException]:
        from steerdsl.llm.completion import sampling_params, supports_param

        values = _Values(con, goal, model.name, self.record)
        jobs = BatchJobs(con, Owner("goal", goal.measure_id), f"goal {goal.name}", model,
                         values, ledger=self.ledger, report=self.progress)
        hashes = [text_hash(t) for t in texts]
        pending = jobs.pending()
        params = sampling_params(model, SamplingParams())
        send_seed = supports_param(model, "seed")
        new: dict[str, str] = {}
        requests = []
        for text, h in zip(texts, hashes):
            if h in pending or h in new:
                continue
            new[h] = text
            p = dict(params)
            if send_seed:  # as the streamed judge seeds it
                p["seed"] = derive_seed(self.plan.experiment.seed, "judge", goal.name, h) % 2**31
            requests.append(Request(h, "t" + h[:24], judge_prompt(goal.measure, text), p))
        measurements.save_texts(con, new)  # the values collected later refer to them
        jobs.submit(requests, params.get("max_tokens"))
        self.open_by_goal[goal.measure_id] = jobs.poll(self.wait)
        waiting = JudgeNotAsked(f"not judged yet: its batch job of goal {goal.name} is still "
                                "at the provider; a later run collects it")
        return [values.results.get(h, waiting) for h in hashes]
