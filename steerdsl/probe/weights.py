"""Density-ratio sampling weights (METHOD.md section 2, step 2; Bickel et al. 2007).

A logistic regression tells the corpus's vectors (real, y = 1) from uniform points (fake,
y = 0); P(fake | x) / P(real | x) = exp(-(x . w + b)) is then proportional to the density ratio
uniform / corpus, so sampling with these weights moves the corpus toward uniform coverage.

The regression minimizes scikit-learn's default objective (lbfgs, L2, C = 1):
    C * sum_i logloss(y_i, x_i . w + b) + 0.5 * ||w||^2     (the intercept b is not penalized)
solved here by Newton's method with a backtracking line search; numpy only.

No BLAS: matrix products are dispatched to kernels chosen per CPU (and by OPENBLAS_CORETYPE)
that sum in different orders, so the weights, and through them which sources a seeded probe
draws, would differ in the last bit between machines. Every product here is elementwise
arithmetic summed in a fixed order (numpy's pairwise sum of one contiguous vector), and the
Newton system is solved in plain Python floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogisticFit:
    coef: np.ndarray  # (d,)
    intercept: float
    iterations: int
    gradient_norm: float  # max |gradient| of the objective at the returned point

    def decision(self, x: np.ndarray) -> np.ndarray:
        return _matvec(_columns(x), self.coef) + self.intercept


def _columns(x: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(x[:, j], dtype=np.float64) for j in range(x.shape[1])]


def _matvec(cols: list[np.ndarray], v: np.ndarray) -> np.ndarray:
    """(the matrix whose columns are cols) @ v, adding the columns' terms in order."""
    out = cols[0] * float(v[0])
    for col, vj in zip(cols[1:], v[1:]):
        out = out + col * float(vj)
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # a * b is one contiguous vector: numpy sums it pairwise in an order fixed by its length
    return float(np.sum(a * b))


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a^-1 b for a small symmetric positive definite a, by Cholesky in Python floats (LAPACK
    would call the CPU-specific BLAS kernels again)."""
    n = len(b)
    m = a.tolist()
    low = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = m[i][j] - math.fsum(low[i][k] * low[j][k] for k in range(j))
            if i == j:
                if s <= 0.0:
                    raise np.linalg.LinAlgError("the Hessian is not positive definite")
                low[i][i] = math.sqrt(s)
            else:
                low[i][j] = s / low[j][j]
    y = [0.0] * n
    for i in range(n):
        y[i] = (float(b[i]) - math.fsum(low[i][k] * y[k] for k in range(i))) / low[i][i]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - math.fsum(low[k][i] * x[k] for k in range(i + 1, n))) / low[i][i]
    return np.array(x)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warnings for large |z|
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _objective(cols: list[np.ndarray], y: np.ndarray, beta: np.ndarray, c: float) -> float:
    z = _matvec(cols, beta)
    # log(1 + exp(z)) - y z is the log-loss of a logit z, computed without overflow
    loss = float(np.sum(np.logaddexp(0.0, z) - y * z))
    return c * loss + 0.5 * math.fsum(float(b) ** 2 for b in beta[:-1])


def _gradient(cols: list[np.ndarray], residual: np.ndarray, beta: np.ndarray, c: float,
              penalty: np.ndarray) -> np.ndarray:
    return np.array([c * _dot(col, residual) for col in cols]) + penalty * beta


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = 1.0, *, tol: float = 1e-10,
                 max_iter: int = 100) -> LogisticFit:
    """L2-regularized logistic regression with an unpenalized intercept (see module doc).

    Converged when max |gradient| <= tol * (1 + c * n): the objective's scale grows with n.
    The objective is strictly convex (L2 on w; the intercept's curvature c * sum p (1 - p) is
    positive unless every label is the same), so Newton converges in a handful of steps."""
    x = np.asarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n, d = x.shape
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    cols = [*_columns(x), np.ones(n)]  # the last column carries the intercept
    penalty = np.ones(d + 1)
    penalty[-1] = 0.0  # the intercept is not penalized
    beta = np.zeros(d + 1)
    f = _objective(cols, y, beta, c)
    limit = tol * (1.0 + c * n)
    grad_norm = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        p = _sigmoid(_matvec(cols, beta))
        grad = _gradient(cols, p - y, beta, c, penalty)
        grad_norm = float(np.max(np.abs(grad)))
        if grad_norm <= limit:
            break
        curvature = p * (1.0 - p)
        hess = np.diag(penalty)
        for j in range(d + 1):
            weighted = cols[j] * curvature
            for k in range(j + 1):
                hess[j, k] += c * _dot(weighted, cols[k])
                hess[k, j] = hess[j, k]
        step = _solve(hess, grad)
        t = 1.0
        while True:  # backtracking (Armijo): Newton's full step is almost always taken
            candidate = beta - t * step
            f_new = _objective(cols, y, candidate, c)
            if f_new <= f - 1e-4 * t * math.fsum((grad * step).tolist()) or t < 1e-12:
                break
            t *= 0.5
        beta, f = candidate, f_new
    else:
        p = _sigmoid(_matvec(cols, beta))
        grad_norm = float(np.max(np.abs(_gradient(cols, p - y, beta, c, penalty))))
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
    top = float(log_w.max())
    log_w = log_w - (top + math.log(float(np.sum(np.exp(log_w - top)))))
    return DensityRatio(log_weights=log_w, auc=mann_whitney_auc(z_real, fit.decision(fake)),
                        fit=fit)
