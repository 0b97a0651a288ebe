"""Executing a plan: the stage kinds of steerdsl.stages.STAGES in order, each stage skipped
when its hash is already done.

corpus:C -> measure:C -> space -> probe:P -> generate:M/I -> score:M/I

Every stage writes to the store before it is marked done, and every stage is idempotent, so a
run killed at any moment continues where it stopped when started again. Generation is the only
stage with partial progress worth keeping (paid calls): it resumes request by request.
"""

from __future__ import annotations

import os
import time
import uuid

from steerdsl.errors import RunError
from steerdsl.executors import Executor
from steerdsl.llm.budget import BudgetExceeded, Ledger
from steerdsl.plan.keys import STAGE_KINDS
from steerdsl.plan.model import Plan
from steerdsl.progress import Display
from steerdsl.stages.context import JobsPending, RunContext, RunResult
from steerdsl.store import runs
from steerdsl.store import stages as stage_store
from steerdsl.words import count

__all__ = ["RunResult", "Runner", "run_plan"]


class Runner:
    def __init__(self, plan: Plan, *, until: str | None = None, retry_errors: bool = False,
                 display: Display | None = None, wait: bool = True, ray: str | None = None):
        if until is not None and until not in STAGE_KINDS:
            raise RunError(f"--until takes one of {', '.join(STAGE_KINDS)}; not {until!r}")
        self.plan = plan
        self.until = until
        self.retry_errors = retry_errors
        self.wait = wait
        # --ray ADDRESS, else the spec's `executor ray "ADDRESS"`; None: this machine's cores
        executor = plan.experiment.executor
        self.ray = ray or (executor.address if executor is not None else None)
        self.display = display or Display(quiet=True)
        self.result = RunResult(run_id=uuid.uuid4().hex[:12], status="ok")

    def _wanted(self, kind: str) -> bool:
        return self.until is None or STAGE_KINDS.index(kind) <= STAGE_KINDS.index(self.until)

    def run(self) -> RunResult:
        from steerdsl.store.db import open_store

        executor = self._connect()  # before anything is written: an unreachable cluster
        try:
            con = open_store(self.plan.experiment.store)
        except BaseException:
            executor.close()
            raise
        try:
            ctx = RunContext(plan=self.plan, con=con, result=self.result, display=self.display,
                             retry_errors=self.retry_errors, wait=self.wait, executor=executor)
            self._start_run(ctx)
            self._warn_unpriced()
            status = "failed"
            try:
                self._check_keys(ctx)
                ctx.ledger = self._ledger(ctx)
                with self.display.session():
                    self._run_stages(ctx)
                status = self.result.status = self._outcome()
            except BudgetExceeded as e:
                self.result.budget_message = str(e)
                status = self.result.status = "budget"
            except JobsPending:  # judged values wait in batch jobs (--no-wait): incomplete
                status = self.result.status = self._outcome()
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            finally:
                try:
                    runs.finish_run(con, self.result.run_id, status)
                except Exception:  # the connection may be gone after a fatal error; the row
                    pass  # stays 'running'
            self.result.summary = self._summary(ctx)
            return self.result
        finally:
            con.close()
            executor.close()

    def _connect(self) -> Executor:
        """Where built-in measures are computed: the Ray cluster when the run asks for one
        (importing Ray only then), else a pool of this machine's cores."""
        if self.ray is None:
            from steerdsl.executors.local import LocalPool
            from steerdsl.goals.engine import default_workers

            return LocalPool(default_workers())
        from steerdsl.executors.ray import RayExecutor

        return RayExecutor(self.ray)

    def _start_run(self, ctx: RunContext) -> None:
        import socket

        from steerdsl import versions
        from steerdsl.store.owner import claim, spec_owner

        # Before anything is written: a store holding another spec's results is refused.
        claim(ctx.con, self.plan.experiment.store, spec_owner(self.plan))
        executor = ctx.executor.description
        runs.start_run(ctx.con, self.result.run_id, self.plan, versions.runtime_versions(),
                       os.getpid(), socket.gethostname(), executor)
        self.display.say(f"measuring on {executor}")

    def _check_keys(self, ctx: RunContext) -> None:
        """The API keys of the models still to generate or to judge, before anything runs: a
        variable that is unset or malformed is a RunError now, not after other stages spent
        money."""
        from steerdsl.llm.keys import api_key_for
        from steerdsl.stages.generate import resolve_model

        for stage in self.plan.stages:
            if not self._wanted(stage.kind) or (ctx.done(stage) and not self.retry_errors):
                continue
            if stage.kind in ("generate", "calibrate"):
                api_key_for(resolve_model(self.plan, stage.key))
            elif stage.kind == "judge":
                api_key_for(self.plan.model(self.plan.judge(stage.key.judge).model))

    def _ledger(self, ctx: RunContext) -> Ledger:
        """The run's spending starts from what the spec's generations, judged goals and
        groundedness verdicts already cost."""
        from steerdsl.grounding.identity import judge_identity
        from steerdsl.store.call_stats import spent_on
        from steerdsl.store.judge_calls import judge_spent
        from steerdsl.store.verdicts import verdict_spent

        limit = self.plan.experiment.budget_usd
        if limit is None:
            return Ledger()
        judged = [g.measure_id for g in self.plan.goals if g.measure.kind == "judge"]
        judges = [judge_identity(self.plan, j) for j in self.plan.judges]
        asking = self.plan.stages_of("calibrate") + self.plan.stages_of("generate")
        return Ledger(limit, spent_on(ctx.con, [s.hash for s in asking])
                      + judge_spent(ctx.con, judged) + verdict_spent(ctx.con, judges))

    def _warn_unpriced(self) -> None:
        """A budget counts only calls with a known price: name the models without one (the
        evaluated models, and the models of judged goals and of the grounding judge)."""
        from steerdsl.llm.budget import usd
        from steerdsl.prices import price_known

        limit = self.plan.experiment.budget_usd
        if limit is None:
            return
        for name in self._paying_models():
            m = self.plan.model(name)
            if not price_known(m.provider, m.model, m.price is not None):
                self.display.warn(f"budget {usd(limit)}: model {name} has no known price; its "
                                  "calls count as $0. Declare `price in X out Y` (US dollars "
                                  "per million input and output tokens) in its model block")

    def _paying_models(self) -> list[str]:
        """The models this run may send requests to, in the spec's order."""
        wanted = {g.measure.model for g in self.plan.goals if g.measure.kind == "judge"}
        e = self.plan.evaluate
        if e is not None and self._wanted("generate"):
            wanted |= set(e.models)
            if e.grounding is not None and self._wanted("judge"):
                wanted.add(self.plan.judge(e.grounding).model)
        return [m.name for m in self.plan.models if m.name in wanted]

    def _run_stages(self, ctx: RunContext) -> None:
        from steerdsl.run.throughput import StageClock
        from steerdsl.stages import STAGES

        for module in STAGES:
            if not self._wanted(module.KIND):
                break
            for stage in self.plan.stages_of(module.KIND):
                if module.CURRENT:
                    stage_store.set_current(ctx.con, stage.id, stage.hash)
                clock = StageClock(ctx)
                try:
                    outcome = module.run(ctx, stage)
                finally:
                    if ctx.executor is not None:  # a local pool's workers live for one stage
                        ctx.executor.release()
                if outcome.ran == "run":
                    clock.finish(ctx, stage)
                if outcome.done is not None:
                    stage_store.mark_done(ctx.con, stage.id, stage.hash, outcome.done)
                elif outcome.not_done:
                    stage_store.mark_not_done(ctx.con, stage.hash)
                {"run": self.result.stages_run, "skipped": self.result.stages_skipped,
                 "not_run": self.result.stages_not_run}[outcome.ran].append(stage.id)
        if self._wanted("score") and self.plan.stages_of("score"):
            from steerdsl.store.db import with_room
            from steerdsl.store.summary import unscored_answers

            # Answers without scores, whatever the cause, make the run incomplete.
            self.result.unscored = with_room(ctx.con, lambda: unscored_answers(ctx.con))

    def _outcome(self) -> str:
        """A run that leaves any answer unasked, failed or without scores is not 'ok'."""
        if self.result.unreachable:
            return "failed"
        if self.result.failed_calls or self.result.unscored or self.result.batch_jobs_open:
            return "incomplete"
        return self.result.status

    def _summary(self, ctx: RunContext) -> str:
        if not self._wanted("score") or not self.plan.stages_of("score"):
            return ""
        from steerdsl.store.db import with_room
        from steerdsl.store.summary import format_summary

        return with_room(ctx.con, lambda: format_summary(ctx.con))


def run_plan(plan: Plan, *, until: str | None = None, retry_errors: bool = False,
             quiet: bool = False, wait: bool = True, ray: str | None = None) -> RunResult:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    start = time.monotonic()
    runner = Runner(plan, until=until, retry_errors=retry_errors, display=Display(quiet=quiet),
                    wait=wait, ray=ray)
    result = runner.run()
    not_run = f", {len(result.stages_not_run)} not run" if result.stages_not_run else ""
    runner.display.say(f"done in {time.monotonic() - start:.1f} s: "
                       f"{count(len(result.stages_run), 'stage')} run, "
                       f"{len(result.stages_skipped)} already done{not_run}")
    return result
