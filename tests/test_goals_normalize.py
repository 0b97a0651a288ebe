"""Normalization (METHOD.md 1.3): fixed bounds, linear percentiles of a corpus, clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from steerdsl.errors import RunError
from steerdsl.goals.normalize import normalize, resolve_bounds
from steerdsl.plan.model import BuiltinMeasure, FixedNorm, GoalPlan, QuantileNorm

NAN = float("nan")


def goal(norm) -> GoalPlan:
    return GoalPlan(name="reading_difficulty", measure=BuiltinMeasure(name="flesch_kincaid_grade"),
                    normalize=norm, measure_id="m")


def test_fixed_bounds_are_taken_as_written():
    g = goal(FixedNorm(lo=2.8, hi=12.9))  # the paper's reading_difficulty range
    assert resolve_bounds(g, None) == (2.8, 12.9)
    assert resolve_bounds(g, np.array([100.0, 200.0])) == (2.8, 12.9)


def test_quantile_bounds_are_linear_percentiles_ignoring_nan():
    g = goal(QuantileNorm(lo_pct=2.5, hi_pct=97.5, corpus="seeds"))
    raw = np.array([0.0, 10.0, NAN, 20.0, 30.0, 40.0])
    # 5 values, linear: position 0.025 * 4 = 0.1 -> 1.0; 0.975 * 4 = 3.9 -> 39.0
    lo, hi = resolve_bounds(g, raw)
    assert lo == pytest.approx(1.0, abs=1e-12) and hi == pytest.approx(39.0, abs=1e-12)
    assert (lo, hi) == tuple(np.percentile([0, 10, 20, 30, 40], [2.5, 97.5]))
    g = goal(QuantileNorm(lo_pct=25, hi_pct=75, corpus="seeds"))
    assert resolve_bounds(g, np.array([1.0, 2.0, 3.0, 4.0])) == (1.75, 3.25)


def test_quantile_bounds_errors():
    g = goal(QuantileNorm(lo_pct=2.5, hi_pct=97.5, corpus="seeds"))
    with pytest.raises(RunError, match="need the raw values of corpus 'seeds'"):
        resolve_bounds(g, None)
    with pytest.raises(RunError, match="no text of corpus 'seeds' has a value"):
        resolve_bounds(g, np.array([NAN, NAN]))
    with pytest.raises(RunError, match="are both 5.0"):
        resolve_bounds(g, np.array([5.0, 5.0, 5.0]))
    with pytest.raises(RunError, match="range 3.0..3.0 is empty"):
        resolve_bounds(goal(FixedNorm(lo=3, hi=3)), None)


def test_normalize_clips_and_keeps_nan():
    out = normalize(np.array([2.8, 12.9, 7.85, 0.0, 20.0, NAN, 3.6764285714285734]), 2.8, 12.9)
    assert out[[0, 1, 3, 4]].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert out[2] == pytest.approx(0.5, abs=1e-15)
    assert math.isnan(out[5])
    assert out[6] == pytest.approx((3.6764285714285734 - 2.8) / 10.1, abs=1e-15)
    assert out.dtype == np.float64
    with pytest.raises(ValueError):
        normalize(np.array([1.0]), 1.0, 1.0)
