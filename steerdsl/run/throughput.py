"""Throughput per stage: how long each stage a run ran took, how many texts it measured
(measure, score) or calls it made (generate, judge), and the CPU time this machine spent on it
(so how many cores it kept busy); printed after the stage and stored in table `stage_runs`."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

from steerdsl.plan.model import Stage
from steerdsl.stages.context import RunContext
from steerdsl.store.stage_runs import calls_since, record_stage_run, verdicts_since

UNITS = {"measure": "texts", "score": "texts", "generate": "calls", "judge": "calls"}


class StageClock:
    """Started before a stage runs; `finish` records it after."""

    def __init__(self, ctx: RunContext) -> None:
        self._start = time.monotonic()
        self._cpu = cpu_seconds()
        # calls and verdicts carry the UTC time they were stored (naive, as in the store)
        self._since = datetime.now(timezone.utc).replace(tzinfo=None)
        self._texts = ctx.texts_measured

    def finish(self, ctx: RunContext, stage: Stage) -> None:
        seconds = time.monotonic() - self._start
        # The local pool's workers were ended (waited for) after the stage: their time counts.
        cpu = cpu_seconds() - self._cpu
        unit = UNITS.get(stage.kind)
        items = None
        if unit == "texts":
            items = ctx.texts_measured - self._texts
        elif stage.kind == "generate":
            items = calls_since(ctx.con, stage.hash, self._since)
        elif stage.kind == "judge":
            from steerdsl.grounding.identity import judge_identity

            judge = ctx.plan.judge(stage.key.judge)
            items = verdicts_since(ctx.con, judge_identity(ctx.plan, judge), self._since)
        record_stage_run(ctx.con, ctx.result.run_id, stage.id, stage.hash, seconds, items, unit,
                         cpu)
        if items:
            from steerdsl.executors.local import LocalPool

            here = ctx.executor is None or isinstance(ctx.executor, LocalPool)
            busy = cores_busy(cpu, seconds) if here else ""  # a cluster's CPU is not seen here
            ctx.display.say(f"  {stage.id}: {rate(items, seconds, unit)}{busy}")


def rate(items: int, seconds: float, unit: str) -> str:
    """'1,200 texts in 3.1 s: 387.1 texts/s'."""
    per_second = f"{items / seconds:,.1f}" if seconds > 0 else "-"
    return f"{items:,} {unit} in {seconds:.1f} s: {per_second} {unit}/s"


def cores_busy(cpu: float, seconds: float) -> str:
    """', 1.9 of 2 cores busy' (empty for a stage too short to tell)."""
    from steerdsl.goals.engine import default_workers

    if seconds < 0.05:
        return ""
    return f", {cpu / seconds:.1f} of {default_workers()} cores busy"


def cpu_seconds() -> float:
    """CPU time of this process and of its children that ended (the measuring processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
