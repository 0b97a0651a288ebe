"""What every stage gets: the plan, the store, the display, the run-wide budget ledger, the
result being built, and the run state (inputs loaded or computed on demand).

Stages hand nothing to each other directly: a stage asks the state for a corpus's texts, its
raw measurements or the space's bounds, and the state keeps what this process already has,
or reads it from the store (the stage that produced it finished in this run or an earlier
one: the runner runs kinds in order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from steerdsl.plan import keys
from steerdsl.plan.model import Plan, Stage
from steerdsl.progress import Display
from steerdsl.store import corpus as corpus_store
from steerdsl.store import stages as stage_store

if TYPE_CHECKING:
    import duckdb

    from steerdsl.executors import Executor
    from steerdsl.llm.budget import Ledger
from steerdsl.store import space as space_store


@dataclass
class RunResult:
    run_id: str
    # 'ok' (everything asked was done), 'incomplete' (some calls failed, or answers were left
    # without scores), 'failed' (a model was given up as unreachable), 'budget'; runs.status
    # also has 'interrupted', and 'failed' for a run that ended with an error.
    status: str
    stages_run: list[str] = field(default_factory=list)
    stages_skipped: list[str] = field(default_factory=list)  # already done
    stages_not_run: list[str] = field(default_factory=list)  # generate stages of a model
    # found unreachable
    failed_calls: int = 0
    unreachable: dict[str, str] = field(default_factory=dict)  # model -> what failed
    failed_measurements: int = 0  # values of answers this run's score stages could not measure
    unscored: int = 0  # answers of the current generations without scores: run 'incomplete'
    summary: str = ""
    batch_jobs_open: int = 0  # provider batch jobs left running (--no-wait): run 'incomplete'
    budget_message: str = ""  # why the budget stopped the run; the CLI prints it once


@dataclass
class Outcome:
    """What a stage did. `done` is recorded in `stages_done` (with this info); `not_done`
    removes a stage recorded done earlier (its results turned out incomplete)."""

    ran: Literal["run", "skipped", "not_run"] = "run"
    done: dict | None = None
    not_done: bool = False


SKIPPED = Outcome(ran="skipped")

# Texts measured at once (a corpus's, a generation's answers): memory stays flat at any size.
MEASURE_CHUNK = 5000
SHOWN_ERRORS = 5  # measurement errors said on the console (the table has them all)


@dataclass
class MeasureTally:
    """What measuring in chunks met, told once for the whole: the first errors, how many,
    how many may be measured again, and values left unmeasured (the budget ran out)."""

    errors: list = field(default_factory=list)  # the first SHOWN_ERRORS MeasureErrors
    n_errors: int = 0
    retryable: int = 0
    unmeasured: int = 0

    def add(self, measured) -> None:
        self.errors.extend(measured.errors[:SHOWN_ERRORS - len(self.errors)])
        self.n_errors += len(measured.errors)
        self.retryable += measured.retryable
        self.unmeasured += len(measured.unmeasured)


def chunk_progress(progress, offset: int, size: int, total: int):
    """measure_texts' progress(done, total) of one chunk, as progress over the whole."""
    if progress is None:
        return None
    return lambda done, of: progress(offset + (done * size // of if of else size), total)


class JobsPending(Exception):
    """Values of judged goals wait in provider batch jobs (run --no-wait): the run stops
    'incomplete' here, and a later run collects them (RunContext.stop_if_unmeasured)."""


class RunState:
    """Inputs of stages, kept in memory for the rest of the run once loaded or computed."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._corpus: dict[str, list] = {}  # corpus -> [(text_id, text, label, text_hash)]
        self._raw: dict[str, dict[str, np.ndarray]] = {}  # corpus -> goal -> raw values
        self._bounds: dict[str, tuple[float, float]] | None = None

    def corpus(self, name: str) -> list:
        if name not in self._corpus:
            stage = self._ctx.plan.stage(keys.CorpusKey(corpus=name))
            self._corpus[name] = corpus_store.load_corpus(self._ctx.con, stage.hash)
        return self._corpus[name]

    def keep_corpus(self, name: str, rows: list) -> None:
        self._corpus[name] = rows

    def raw(self, name: str) -> dict[str, np.ndarray]:
        """Raw values of every goal for a corpus's texts (through the measurement cache)."""
        if name not in self._raw:
            rows = self.corpus(name)
            raw, tally = self._ctx.measure_chunks([r[1] for r in rows], ids=[r[0] for r in rows])
            self._ctx.stop_if_unmeasured(tally)
            self._raw[name] = raw
        return self._raw[name]

    def keep_raw(self, name: str, raw: dict[str, np.ndarray]) -> None:
        self._raw[name] = raw

    def bounds(self) -> dict[str, tuple[float, float]]:
        if self._bounds is None:
            space = self._ctx.plan.stage(keys.SpaceKey())
            self._bounds = space_store.load_bounds(self._ctx.con, space.hash)
        return self._bounds

    def keep_bounds(self, bounds: dict[str, tuple[float, float]]) -> None:
        self._bounds = bounds

    def normalized(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from steerdsl.goals.normalize import normalize

        bounds = self.bounds()
        return {g.name: normalize(raw[g.name], *bounds[g.name]) for g in self._ctx.plan.goals}


@dataclass
class RunContext:
    plan: Plan
    con: duckdb.DuckDBPyConnection  # the store
    result: RunResult
    display: Display = field(default_factory=lambda: Display(quiet=True))
    retry_errors: bool = False
    ledger: Ledger | None = None  # every call's cost, against the budget
    wait: bool = True  # False (--no-wait): batch jobs are submitted, not waited for
    # Where built-in measures are computed (steerdsl.executors); None: this machine's cores.
    executor: Executor | None = None
    texts_measured: int = 0  # texts given to measure() so far: the runner's throughput
    state: RunState = field(init=False)
    _judge: object = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.state = RunState(self)

    def done(self, stage: Stage) -> bool:
        return stage_store.is_done(self.con, stage.hash)

    def measure(self, texts: list[str], *, ids: list[str], progress=None):
        """measure_texts with what measuring needs beyond texts: where `python "mod:fn"`
        goals are imported from (the spec's folder), the LLM judge for `judge` goals (charged
        to the run's ledger), and whether stored failures are measured again."""
        from steerdsl.goals.measure import measure_texts

        self.texts_measured += len(texts)
        return measure_texts(texts, self.plan.goals, con=self.con, progress=progress, ids=ids,
                             base_dir=Path(self.plan.spec_path).parent, judge=self.judge(),
                             retry_errors=self.retry_errors, executor=self.executor)

    def measure_chunks(self, texts: list[str], *, ids: list[str], progress=None
                       ) -> tuple[dict[str, np.ndarray], MeasureTally]:
        """`measure` over `texts` MEASURE_CHUNK at a time: the raw values of the whole (a
        float per text and goal) and what it met. The same values as one call: a text in two
        chunks is read from the cache the second time."""
        tally = MeasureTally()
        parts: dict[str, list[np.ndarray]] = {g.name: [] for g in self.plan.goals}
        for start in range(0, len(texts), MEASURE_CHUNK):
            chunk = texts[start:start + MEASURE_CHUNK]
            measured = self.measure(chunk, ids=ids[start:start + MEASURE_CHUNK],
                                    progress=chunk_progress(progress, start, len(chunk),
                                                            len(texts)))
            tally.add(measured)
            for name, values in measured.raw.items():
                parts[name].append(values)
        raw = {name: np.concatenate(v) if v else np.zeros(0) for name, v in parts.items()}
        return raw, tally

    def judge(self):
        """The judge of `judge` goals: its requests are charged to the run's ledger and their
        cost is stored (table judge_calls); those of a `batch on` model go as provider batch
        jobs (steerdsl.stages.judged_goals)."""
        judged = [g for g in self.plan.goals if g.measure.kind == "judge"]
        if self._judge is None and judged:
            from steerdsl.goals.judge import make_judge
            from steerdsl.store.judge_calls import record_judge_calls

            def record(calls) -> None:
                record_judge_calls(self.con, calls)

            self._judge = make_judge(self.plan, ledger=self.ledger, record=record)
            if any(self.plan.model(g.measure.model).batch for g in judged):
                from steerdsl.stages.judged_goals import BatchJudge

                self._judge = BatchJudge(self.plan, self.con, self._judge, ledger=self.ledger,
                                         record=record, wait=self.wait)
        return self._judge

    def stop_if_unmeasured(self, measured: MeasureTally) -> None:
        """Values left unmeasured because the budget ran out, or waiting in batch jobs (run
        --no-wait): the run stops here (what was measured is stored; a later run measures the
        rest)."""
        if not measured.unmeasured:
            return
        if self.ledger is not None and self.ledger.exhausted:
            raise self.ledger.exceeded()
        jobs_open = getattr(self._judge, "jobs_open", 0)
        if jobs_open:
            from steerdsl.words import count

            self.result.batch_jobs_open += jobs_open
            self.display.warn(f"  {count(jobs_open, 'batch job')} of judged goals submitted and "
                              "not finished yet; a later `steerdsl run` collects the values")
            raise JobsPending()

    def say_measure_errors(self, what: str, measured: MeasureTally) -> None:
        for _, text_id, goal, message in measured.errors[:SHOWN_ERRORS]:
            self.display.say(f"  {what}: {text_id}: {goal}: {message}")
        if measured.n_errors > SHOWN_ERRORS:
            self.display.say(f"  ... and {measured.n_errors - SHOWN_ERRORS} more measurement "
                             "errors (see the measurements table)")
        if measured.retryable:
            self.display.say(f"  {what}: `steerdsl run SPEC --retry-errors` measures the "
                             f"{measured.retryable} failed Python or judge values again")
