"""Raw values of goals for texts: batched, cached in a store, never dying on one text.

Each distinct text is measured once per measure identity (`measure_id`): values come from the
store's `measurements` table when there, else they are computed (built-ins in one spaCy pass
per text, in parallel for large inputs) and written back in bulk.

Failures are stored too, with their message. Those of built-ins and expressions are final (they
are deterministic); those of Python and judge goals may be transient (a network error, a bug
since fixed): they are read back like any cached value, and measured again only when asked
(`retry_errors`, the run's `--retry-errors`). Texts a judge was not asked about because the
budget ran out (JudgeNotAsked) are not measurements: they are left out of the cache and
reported apart (`Measured.unmeasured`), so a later run judges them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from steerdsl.errors import RunError
from steerdsl.executors import Executor
from steerdsl.store import measurements as cache
from steerdsl.goals.builtins import IMPLEMENTED
from steerdsl.goals.custom import eval_expr, expr_refs, load_python_measure
from steerdsl.goals.engine import compute_groups
from steerdsl.goals.judge import JudgeNotAsked
from steerdsl.goals.pycall import as_number as _as_number
from steerdsl.goals.pycall import call_python_goal
from steerdsl.plan.hashing import builtin_measure_id
from steerdsl.plan.model import (
    BuiltinMeasure,
    ExprMeasure,
    GoalPlan,
    JudgeMeasure,
    PythonMeasure,
)
from steerdsl.texts import text_hash

# judge(goal, texts) -> one value per text: a number, or the exception that text failed with.
JudgeFn = Callable[[GoalPlan, Sequence[str]], Sequence["float | BaseException"]]
Progress = Callable[[int, int], None]


class MeasureError(NamedTuple):
    index: int  # position of the text in the input
    text_id: str
    goal: str
    message: str


@dataclass
class Measured:
    raw: dict[str, np.ndarray]  # goal name -> float64 values in input order, NaN on error
    errors: list[MeasureError]
    computed: int = 0  # values computed by this call (per distinct text and measure)
    cached: int = 0  # values read from the store
    retryable: int = 0  # errors of Python and judge goals (`retry_errors` measures them again)
    # Values not measured because the budget ran out (NaN in raw, neither in errors nor cached).
    unmeasured: list[MeasureError] = field(default_factory=list)


@dataclass
class _Column:
    """Values of one measure identity over the distinct texts."""

    measure_id: str
    definition: dict
    versions: dict
    builtin: str | None  # the built-in measure's name, when it is one
    retryable: bool  # a judge's or a Python's failure may be transient (see module doc)
    values: np.ndarray
    done: np.ndarray  # known (cached, computed, or failed)
    wanted: np.ndarray  # needed by some goal
    errors: dict[int, str] = field(default_factory=dict)
    unasked: dict[int, str] = field(default_factory=dict)  # not judged: the budget ran out
    fresh: list[int] = field(default_factory=list)  # computed now: to write to the store
    written: int = 0  # how many of `fresh` went to the writer

    def set(self, i: int, value: float, error: str | None) -> None:
        if error is None:
            self.values[i] = value
        else:
            self.errors[i] = error
        self.done[i] = True
        self.fresh.append(i)


def measure_texts(
    texts: Sequence[str],
    goals: Sequence[GoalPlan],
    *,
    con=None,
    progress: Progress | None = None,
    ids: Sequence[str] | None = None,
    workers: int | None = None,
    judge: JudgeFn | None = None,
    base_dir: str | Path | None = None,
    retry_errors: bool = False,
    executor: Executor | None = None,
) -> Measured:
    """Raw values of `goals` for `texts`.

    con: a store (steerdsl.store.db.open_store) used as cache, read and written.
    progress: called with (texts done, texts total) as work proceeds.
    ids: the texts' ids for error messages (default: their positions).
    workers: processes for the built-in measures (default: all cores, for large inputs only).
    judge: computes JudgeMeasure goals (the run engine's LLM client); without it they fail.
    base_dir: where `python "module:function"` goals are imported from (the spec's folder),
        first (a module there wins), then the Python path.
    retry_errors: measure again the failures of Python and judge goals stored in `con`.
    executor: where the built-in measures are computed (a Ray cluster, steerdsl.executors);
        default: this machine's processes (`workers`). Only texts not in the cache go there.
    """
    if con is None:
        return _measure(texts, goals, None, progress, ids, workers, judge, base_dir,
                        retry_errors, executor)
    # A cursor of our own: the caller's connection may hold an unfinished result, which
    # blocks register() (the bulk paths) in DuckDB 2.
    cur = con.cursor()
    try:
        return _measure(texts, goals, cur, progress, ids, workers, judge, base_dir,
                        retry_errors, executor)
    finally:
        cur.close()


def _measure(texts, goals, con, progress, ids, workers, judge, base_dir,
             retry_errors, executor) -> Measured:
    n = len(texts)
    ids = [str(i) for i in range(n)] if ids is None else [str(x) for x in ids]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} texts")
    names = [g.name for g in goals]
    if len(set(names)) != len(names):
        raise ValueError(f"goal names repeat: {names}")

    # Distinct texts: each is measured once, however often it occurs.
    first: dict[str, int] = {}
    inverse = np.empty(n, dtype=np.intp)
    utexts: list[str] = []
    uhashes: list[str] = []
    bad: dict[int, str] = {}
    for i, text in enumerate(texts):
        problem = _text_problem(text)
        key = text_hash(text) if problem is None else f"bad:{i}"
        u = first.get(key)
        if u is None:
            u = first[key] = len(utexts)
            utexts.append(text if problem is None else "")
            uhashes.append(key)
            if problem is not None:
                bad[u] = problem
        inverse[i] = u
    m = len(utexts)

    columns, goal_col, inputs = _columns(goals, m)
    for col in columns.values():
        for u, problem in bad.items():
            col.errors[u] = problem
            col.done[u] = True

    cached = 0
    if con is not None and m > len(bad):
        cached = _read_cache(con, columns, uhashes, retry_errors)

    # What must be computed: every goal's value, and an expression's inputs where the
    # expression itself is not known yet.
    for goal in goals:
        col = columns[goal_col[goal.name]]
        col.wanted |= ~col.done
        for mid in inputs.get(goal.name, {}).values():
            columns[mid].wanted |= ~col.done

    writer = cache.CacheWriter(con) if con is not None else None
    if con is not None:
        cache.write_measures(
            con, [(c.measure_id, c.definition, c.versions) for c in columns.values()])
    tracker = _Tracker(progress, m)

    _compute_builtins(columns, utexts, workers, executor, tracker, writer, uhashes)
    for goal in goals:
        col = columns[goal_col[goal.name]]
        todo = np.flatnonzero(~col.done).tolist()
        if not todo:
            continue
        if isinstance(goal.measure, PythonMeasure):
            _compute_python(goal, col, todo, utexts, base_dir)
        elif isinstance(goal.measure, JudgeMeasure):
            _compute_judge(goal, col, todo, utexts, judge)
        elif isinstance(goal.measure, ExprMeasure):
            _compute_expr(goal.measure, col, todo,
                          {ref: columns[mid] for ref, mid in inputs[goal.name].items()})
    if writer is not None:
        for col in columns.values():
            if col.builtin is None:
                _write_fresh(writer, col, utexts, uhashes)
        writer.flush()
    tracker.finish()

    raw = {g.name: columns[goal_col[g.name]].values[inverse].copy() for g in goals}
    errors: list[MeasureError] = []
    unmeasured: list[MeasureError] = []
    retryable = 0
    for i in range(n):
        u = int(inverse[i])
        for g in goals:
            col = columns[goal_col[g.name]]
            if u in col.unasked:
                unmeasured.append(MeasureError(i, ids[i], g.name, col.unasked[u]))
            msg = col.errors.get(u)
            if msg is not None:
                errors.append(MeasureError(i, ids[i], g.name, msg))
                if col.retryable and u not in bad:
                    retryable += 1
    computed = sum(len(c.fresh) for c in columns.values())
    return Measured(raw=raw, errors=errors, computed=computed, cached=cached,
                    retryable=retryable, unmeasured=unmeasured)


def _text_problem(text) -> str | None:
    if not isinstance(text, str):
        return f"not a text but {type(text).__name__}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"not valid Unicode text (lone surrogate at character {e.start})"
    return None


def _columns(
    goals: Sequence[GoalPlan], m: int
) -> tuple[dict[str, _Column], dict[str, str], dict[str, dict[str, str]]]:
    """One column per measure identity; an expression's built-ins get their own columns.
    Returns the columns by measure_id, each goal's measure_id, and each expression goal's
    inputs (built-in name -> measure_id)."""
    columns: dict[str, _Column] = {}
    goal_col: dict[str, str] = {}
    inputs: dict[str, dict[str, str]] = {}

    def add(mid: str, definition: dict, versions: dict, builtin: str | None, retryable: bool):
        if mid not in columns:
            columns[mid] = _Column(mid, definition, dict(versions), builtin, retryable,
                                   np.full(m, np.nan), np.zeros(m, bool), np.zeros(m, bool))

    for goal in goals:
        measure = goal.measure
        definition = measure.model_dump(mode="json")
        if isinstance(measure, BuiltinMeasure):
            _check_builtin(goal.name, measure.name)
            add(goal.measure_id, definition, goal.versions, measure.name, False)
        elif isinstance(measure, ExprMeasure):
            add(goal.measure_id, definition, goal.versions, None, False)
            inputs[goal.name] = {}
            for ref in expr_refs(measure):
                _check_builtin(goal.name, ref)
                # Cached under the built-in's own identity, shared with every other use of it.
                mid, versions = builtin_measure_id(ref)
                add(mid, {"kind": "builtin", "name": ref}, versions, ref, False)
                inputs[goal.name][ref] = mid
        elif isinstance(measure, (PythonMeasure, JudgeMeasure)):
            add(goal.measure_id, definition, goal.versions, None, True)
        else:
            raise RunError(f"goal '{goal.name}': unknown measure kind {measure.kind!r}")
        goal_col[goal.name] = goal.measure_id
    return columns, goal_col, inputs


def _check_builtin(goal: str, name: str) -> None:
    if name not in IMPLEMENTED:
        raise RunError(f"goal '{goal}': '{name}' is not a built-in measure")


def _read_cache(con, columns: dict[str, _Column], uhashes: list[str],
                retry_errors: bool) -> int:
    rows = cache.read_cached(con, uhashes, list(columns))
    where = {h: u for u, h in enumerate(uhashes)}
    read = 0
    for h, mid, value, err in rows:
        col = columns[mid]
        u = where[h]
        if err is not None:
            if retry_errors and col.retryable:
                continue  # measured again; the new row replaces this one
            col.errors[u] = err
        else:
            col.values[u] = value
        col.done[u] = True
        read += 1
    return read


class _Tracker:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def add(self, k: int) -> None:
        self.done = min(self.total, self.done + k)
        if self.progress is not None:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        if self.done < self.total:
            self.add(self.total - self.done)


def _compute_builtins(columns, utexts, workers, executor, tracker: _Tracker, writer,
                      uhashes) -> None:
    """Every missing built-in value, one spaCy pass per text, grouped by the set of measures
    each text still needs (usually one group)."""
    builtin_cols = [c for c in columns.values() if c.builtin is not None]
    need: dict[str, np.ndarray] = {}
    for col in builtin_cols:
        mask = col.wanted & ~col.done
        need[col.builtin] = need.get(col.builtin, np.zeros(len(utexts), bool)) | mask
    names = sorted(need)
    groups: dict[tuple[str, ...], list[int]] = {}
    for u in range(len(utexts)):
        key = tuple(name for name in names if need[name][u])
        if key:
            groups.setdefault(key, []).append(u)
    tracker.add(len(utexts) - sum(len(v) for v in groups.values()))
    if not groups:
        return
    keys = list(groups)
    work = [([utexts[u] for u in groups[k]], k) for k in keys]
    by_name: dict[str, list[_Column]] = {}
    for col in builtin_cols:
        by_name.setdefault(col.builtin, []).append(col)
    for g, start, batch in compute_groups(work, workers=workers, executor=executor):
        members = groups[keys[g]][start:start + len(batch.values)]
        errors = {(i, name): msg for i, name, msg in batch.errors}
        for j, name in enumerate(batch.names):
            for col in by_name[name]:
                for i, u in enumerate(members):
                    if not col.done[u]:
                        col.set(u, batch.values[i, j], errors.get((i, name)))
        if writer is not None:
            for col in builtin_cols:
                _write_fresh(writer, col, utexts, uhashes)
        tracker.add(len(members))


def _write_fresh(writer, col: _Column, utexts, uhashes) -> None:
    for u in col.fresh[col.written:]:
        writer.add(uhashes[u], utexts[u], col.measure_id, float(col.values[u]),
                   col.errors.get(u))
    col.written = len(col.fresh)


def _compute_python(goal: GoalPlan, col: _Column, todo, utexts, base_dir) -> None:
    func = load_python_measure(goal.name, goal.measure, base_dir)
    results = call_python_goal(func, [utexts[u] for u in todo], what=goal.measure.ref,
                               timeout=goal.measure.timeout)
    for u, (value, err) in zip(todo, results):
        col.set(u, value, err)


def _compute_judge(goal: GoalPlan, col: _Column, todo, utexts, judge: JudgeFn | None) -> None:
    measure: JudgeMeasure = goal.measure
    if judge is None:
        raise RunError(
            f"goal '{goal.name}' is judged by model '{measure.model}', and no judge (a model "
            "client) was given to measure it"
        )
    answers = list(judge(goal, [utexts[u] for u in todo]))
    if len(answers) != len(todo):
        raise RunError(f"goal '{goal.name}': the judge gave {len(answers)} values for "
                       f"{len(todo)} texts")
    for u, answer in zip(todo, answers):
        if isinstance(answer, JudgeNotAsked):
            col.unasked[u] = str(answer)  # not done: neither a value nor a cached failure
            continue
        col.set(u, *judged_value(measure, answer))


def judged_value(measure: JudgeMeasure, answer: float | BaseException
                 ) -> tuple[float, str | None]:
    """A judge's answer as a measurement: (value, None), or (NaN, why it failed)."""
    if isinstance(answer, BaseException):
        return math.nan, f"judge failed: {type(answer).__name__}: {answer}"
    value, err = _as_number(answer, f"judge {measure.model}")
    if err is None and not measure.scale_lo <= value <= measure.scale_hi:
        err = f"judge score {value} outside the scale {measure.scale_lo}..{measure.scale_hi}"
        value = math.nan
    return value, err


def _compute_expr(measure: ExprMeasure, col: _Column, todo, base: dict[str, _Column]) -> None:
    idx = np.asarray(todo, dtype=np.intp)
    values, div0 = eval_expr(measure, {ref: c.values[idx] for ref, c in base.items()}, len(idx))
    for k, u in enumerate(todo):
        failed = next((ref for ref, c in base.items() if u in c.errors), None)
        if failed is not None:
            col.set(u, math.nan, f"needs {failed}, which failed: {base[failed].errors[u]}")
        elif div0[k]:
            col.set(u, math.nan, f"division by zero in {measure.text}")
        elif not math.isfinite(values[k]):
            col.set(u, math.nan, f"{measure.text} is not a finite number ({values[k]})")
        else:
            col.set(u, float(values[k]), None)
