"""Density-ratio sampling weights (METHOD.md section 2, step 2; Bickel et al. 2007).

A logistic regression tells the corpus's vectors (real, y = 1) from uniform points (fake,
y = 0); P(fake | x) / P(real | x) = exp(-(x . w + b)) is then proportional to the density ratio
uniform / corpus, so sampling with these weights moves the corpus toward uniform coverage.

The regression minimizes scikit-learn's default objective (lbfgs, L2, C = 1):
    C * sum_i logloss(y_i, x_i . w + b) + 0.5 * ||w||^2     (the intercept b is not penalized)
solved here by Newton's method with a backtracking line search; numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogisticFit:
    coef: np.ndarray  # (d,)
    intercept: float
    iterations: int
    gradient_norm: float  # max |gradient| of the objective at the returned point

    def decision(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef + self.intercept


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warnings for large |z|
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _objective(x1: np.ndarray, y: np.ndarray, beta: np.ndarray, c: float) -> float:
    z = x1 @ beta
    # log(1 + exp(z)) - y z is the log-loss of a logit z, computed without overflow
    return float(c * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * beta[:-1] @ beta[:-1])


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0, *, tol: float = 1e-10,
                 max_iter: int = 100) -> LogisticFit:
    """L2-regularized logistic regression with an unpenalized intercept (see module doc).

    Converged when max |gradient| <= tol * (1 + c * n): the objective's scale grows with n.
    The objective is strictly convex (L2 on w; the intercept's curvature c * sum p (1 - p) is
    positive unless every label is the same), so Newton converges in a handful of steps."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = x.shape
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    x1 = np.hstack([x, np.ones((n, 1))])
    penalty = np.ones(d + 1)
    penalty[-1] = 0.0  # the intercept is not penalized
    beta = np.zeros(d + 1)
    f = _objective(x1, y, beta, c)
    limit = tol * (1.0 + c * n)
    grad_norm = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        p = _sigmoid(x1 @ beta)
        grad = c * (x1.T @ (p - y)) + penalty * beta
        grad_norm = float(np.max(np.abs(grad)))
        if grad_norm <= limit:
            break
        hess = c * (x1.T * (p * (1.0 - p))) @ x1 + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:  # backtracking (Armijo): Newton's full step is almost always taken
            candidate = beta - t * step
            f_new = _objective(x1, y, candidate, c)
            if f_new <= f - 1e-4 * t * float(grad @ step) or t < 1e-12:
                break
            t *= 0.5
        beta, f = candidate, f_new
    else:
        p = _sigmoid(x1 @ beta)
        grad_norm = float(np.max(np.abs(c * (x1.T @ (p - y)) + penalty * beta)))
    return LogisticFit(coef=beta[:-1].copy(), intercept=float(beta[-1]), iterations=it,
                       gradient_norm=grad_norm)


def mann_whitney_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting one half (average ranks)."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    n1, n0 = len(pos), len(neg)
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs at least one positive and one negative score")
    scores = np.concatenate([pos, neg])
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(ordered) != 0) + 1])
    ends = np.concatenate([starts[1:], [len(scores)]])
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # 1-based mean rank
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


@dataclass(frozen=True)
class DensityRatio:
    log_weights: np.ndarray  # (N,), normalized: logsumexp = 0
    auc: float
    fit: LogisticFit

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)


def density_ratio_weights(real: np.ndarray, fake: np.ndarray, c: float = 1.0) -> DensityRatio:
    """Weights toward the fake (uniform) distribution for each real row (METHOD.md 2.2), and
    the AUC of the classifier on its own training data (near 0.5: the corpus is already
    spread like the fake points)."""
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    x = np.vstack([real, fake])
    y = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])
    fit = fit_logistic(x, y, c)
    z_real = fit.decision(real)
    # w_i = P(fake|x) / P(real|x) = exp(-z_i); normalized in log space so no weight underflows
    log_w = -z_real
    log_w = log_w - (log_w.max() + np.log(np.sum(np.exp(log_w - log_w.max()))))
    return DensityRatio(log_weights=log_w, auc=mann_whitney_auc(z_real, fit.decision(fake)),
                        fit=fit)
