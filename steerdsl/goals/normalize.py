"""Normalization of raw goal values into [0, 1] (METHOD.md 1.3)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from steerdsl.errors import RunError
from steerdsl.plan.model import FixedNorm, GoalPlan, QuantileNorm


def resolve_bounds(goal: GoalPlan, corpus_raw: np.ndarray | None) -> tuple[float, float]:
    """[lo, hi] of a goal: its fixed numbers, or numpy linear percentiles of the corpus's raw
    values (NaN, i.e. texts that failed, ignored)."""
    norm = goal.normalize
    if isinstance(norm, FixedNorm):
        lo, hi = float(norm.lo), float(norm.hi)
        if not hi > lo:
            raise RunError(f"goal '{goal.name}': normalization range {lo}..{hi} is empty")
        return lo, hi
    if not isinstance(norm, QuantileNorm):
        raise RunError(f"goal '{goal.name}': unknown normalization {norm!r}")
    if corpus_raw is None:
        raise RunError(f"goal '{goal.name}': quantile bounds need the raw values of corpus "
                       f"'{norm.corpus}'")
    values = np.asarray(corpus_raw, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise RunError(f"goal '{goal.name}': no text of corpus '{norm.corpus}' has a value, so "
                       "its quantiles are undefined")
    lo, hi = np.percentile(values, [norm.lo_pct, norm.hi_pct], method="linear")
    if not hi > lo:
        raise RunError(
            f"goal '{goal.name}': the {norm.lo_pct}% and {norm.hi_pct}% quantiles of corpus "
            f"'{norm.corpus}' are both {float(lo)!r}; widen the quantiles or give fixed bounds"
        )
    return float(lo), float(hi)


def space_bounds(goals: list[GoalPlan],
                 raw_of: Callable[[str], dict[str, np.ndarray]]) -> dict[str, tuple[float, float]]:
    """goal -> (lo, hi) for every goal; `raw_of(corpus)` gives a corpus's raw values per goal
    and is asked only for the corpora of quantile bounds (the space stage and `steerdsl
    measure --spec` both resolve bounds here)."""
    bounds = {}
    for goal in goals:
        corpus_raw = None
        if isinstance(goal.normalize, QuantileNorm):
            corpus_raw = raw_of(goal.normalize.corpus)[goal.name]
        bounds[goal.name] = resolve_bounds(goal, corpus_raw)
    return bounds


def normalize(raw: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """clip((x - lo) / (hi - lo), 0, 1); NaN stays NaN."""
    if not hi > lo:
        raise ValueError(f"empty normalization range {lo}..{hi}")
    x = np.asarray(raw, dtype=np.float64)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)
