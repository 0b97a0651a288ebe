"""A straightforward numpy implementation of METHOD.md section 4, one answer at a time.

Deliberately written independently of the SQL views (loops over answers, plain vectors), so
the tests compare two implementations rather than one against itself.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-8
CUTS = np.array([-1.0, -0.5, -0.2, -0.1, 0.1, 0.2, 0.5, 1.0])


def binned(x: np.ndarray, z0: np.ndarray) -> np.ndarray:
    cuts = np.clip(z0[:, None] + CUTS[None, :], 0.0, 1.0)
    return (x[:, None] >= cuts).sum(axis=1) - 1


def static_bin(delta: np.ndarray) -> np.ndarray:
    return (delta[:, None] >= CUTS[None, :]).sum(axis=1) - 1


def rejection(a: np.ndarray, r: np.ndarray) -> float:
    k = np.dot(a, r) / (np.linalg.norm(r) ** 2 + EPS)
    return float(np.linalg.norm(a - k * r))


def orthogonality(a: np.ndarray, m: np.ndarray, r: np.ndarray) -> float:
    value = rejection(a, r) / (np.linalg.norm(m) + 1e-4 * (np.linalg.norm(r) + EPS))
    return float(np.clip(value, 0.0, 1.0))


def miscalibration(a: np.ndarray, r: np.ndarray) -> float:
    return float(abs(np.dot(a, r)) / (np.linalg.norm(r) + EPS) ** 2)


def answer_metrics(source: np.ndarray, delta: np.ndarray, target: np.ndarray,
                   output: np.ndarray) -> dict[str, float]:
    """Metrics of one answer. Vectors over all goals; NaN delta/target = inactive goal."""
    if np.isnan(source).any() or np.isnan(output).any():
        return {k: math.nan for k in METRIC_NAMES}
    z_star = np.where(np.isnan(target), source, target)
    d = np.where(np.isnan(delta), 0.0, delta)
    # raw
    a = z_star - output
    r = z_star - source
    m = output - source
    # binned
    b_out = binned(output, source)
    b_star = binned(z_star, source)
    ab = (b_out - b_star) / 7
    mb = (b_out - 3) / 7
    q = (static_bin(d) - 3) / 7
    return {
        "steering_error": float(np.linalg.norm(ab)),
        "miscalibration": miscalibration(ab, q),
        "orthogonality": orthogonality(ab, mb, q),
        "steering_error_raw": float(np.linalg.norm(a)),
        "miscalibration_raw": miscalibration(a, r),
        "orthogonality_raw": orthogonality(a, m, r),
        "orthogonality_paper": orthogonality(ab, mb, r),
    }


METRIC_NAMES = ("steering_error", "miscalibration", "orthogonality", "steering_error_raw",
                "miscalibration_raw", "orthogonality_raw", "orthogonality_paper")


def select_best(steering_error_raw: list[float]) -> int:
    """Index of the best-of-N pick: smallest raw steering error, ties to the lowest index."""
    best = 0
    for i, v in enumerate(steering_error_raw):
        if not math.isnan(v) and (math.isnan(steering_error_raw[best])
                                  or v < steering_error_raw[best]):
            best = i
    return best


def summary_stats(values: np.ndarray) -> dict[str, float]:
    v = values[~np.isnan(values)]
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"n": len(v), "median": med, "q1": q1, "q3": q3, "iqr": q3 - q1,
            "mean": v.mean(), "std": v.std(ddof=0), "min": v.min(), "max": v.max()}
