"""Density-ratio weights: the logistic regression against hand-computable cases, the AUC."""

import math

import numpy as np
import pytest

from steerdsl.probe.weights import density_ratio_weights, fit_logistic, mann_whitney_auc


def objective(x, y, coef, intercept, c=1.0):
    z = x @ coef + intercept
    return c * np.sum(np.logaddexp(0, z) - y * z) + 0.5 * coef @ coef


def gradient(x, y, coef, intercept, c=1.0):
    """scikit-learn's objective's gradient, written out independently of the fit."""
    p = 1 / (1 + np.exp(-(x @ coef + intercept)))
    return np.concatenate([c * x.T @ (p - y) + coef, [c * np.sum(p - y)]])


def test_intercept_only_gives_log_odds():
    # No feature signal: the penalty keeps w at 0 and the free intercept fits the log odds.
    x = np.zeros((4, 1))
    y = np.array([1.0, 1.0, 1.0, 0.0])
    fit = fit_logistic(x, y)
    assert fit.coef[0] == 0.0
    assert fit.intercept == pytest.approx(math.log(3), abs=1e-12)


def test_symmetric_data_gives_zero_model():
    rng = np.random.default_rng(1)
    pts = rng.random((50, 3))
    x = np.vstack([pts, pts])
    y = np.concatenate([np.ones(50), np.zeros(50)])
    fit = fit_logistic(x, y)
    assert np.max(np.abs(fit.coef)) < 1e-12
    assert abs(fit.intercept) < 1e-12
    ratio = density_ratio_weights(pts, pts)
    np.testing.assert_allclose(ratio.weights, np.full(50, 1 / 50), rtol=1e-10)
    assert ratio.auc == 0.5  # every real score ties with its fake twin


@pytest.mark.parametrize("n,c", [(1, 1.0), (5, 1.0), (3, 0.1)])
def test_two_points_solves_the_scalar_equation(n, c):
    # real at x = +1, fake at x = -1, n of each: b = 0 by symmetry and the gradient
    # 2 n c (sigmoid(w) - 1) + w = 0, i.e. w = 2 n c sigmoid(-w): solve it by bisection.
    x = np.concatenate([np.ones(n), -np.ones(n)])[:, None]
    y = np.concatenate([np.ones(n), np.zeros(n)])
    lo, hi = 0.0, 2 * n * c
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid - 2 * n * c / (1 + math.exp(mid)) < 0:
            lo = mid
        else:
            hi = mid
    fit = fit_logistic(x, y, c)
    assert fit.coef[0] == pytest.approx(lo, abs=1e-10)
    assert abs(fit.intercept) < 1e-10


def test_gradient_vanishes_at_the_optimum_and_it_is_a_minimum():
    rng = np.random.default_rng(2)
    real = rng.beta(2, 5, (3000, 4))
    fake = rng.random((3000, 4))
    x = np.vstack([real, fake])
    y = np.concatenate([np.ones(3000), np.zeros(3000)])
    fit = fit_logistic(x, y)
    g = gradient(x, y, fit.coef, fit.intercept)
    assert np.max(np.abs(g)) < 1e-6
    assert fit.iterations < 20
    best = objective(x, y, fit.coef, fit.intercept)
    for _ in range(20):
        step = rng.normal(size=5) * 1e-3
        assert objective(x, y, fit.coef + step[:4], fit.intercept + step[4]) > best
    # the weights are P(fake|x) / P(real|x), normalized
    ratio = density_ratio_weights(real, fake)
    p_real = 1 / (1 + np.exp(-(real @ ratio.fit.coef + ratio.fit.intercept)))
    expected = (1 - p_real) / p_real
    np.testing.assert_allclose(ratio.weights, expected / expected.sum(), rtol=1e-9)
    assert ratio.weights.sum() == pytest.approx(1.0, abs=1e-12)
    # the corpus piles up near 0, so the classifier finds it: AUC well above chance, and the
    # weights favour texts with large values
    assert 0.75 < ratio.auc < 1.0
    assert np.all(ratio.fit.coef < 0)


def test_auc_hand_values():
    assert mann_whitney_auc([2, 3], [0, 1]) == 1.0
    assert mann_whitney_auc([0, 1], [2, 3]) == 0.0
    assert mann_whitney_auc([1, 1], [1, 1]) == 0.5
    # pairs: (1,1) tie 0.5, (1,0) 1, (2,1) 1, (2,0) 1 -> 3.5 / 4
    assert mann_whitney_auc([1, 2], [1, 0]) == 0.875
    with pytest.raises(ValueError):
        mann_whitney_auc([], [1.0])


def test_auc_matches_pairwise_count():
    rng = np.random.default_rng(3)
    pos = np.round(rng.normal(0.3, 1, 300), 1)  # rounding makes ties
    neg = np.round(rng.normal(0, 1, 200), 1)
    pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert mann_whitney_auc(pos, neg) == pytest.approx(pairs / (300 * 200), abs=1e-12)
