"""The calibration fit: per goal, realized movement as a monotone (isotonic) function of the
requested movement, and the side effects of a requested goal on the others.

Inputs are observations of the uncalibrated prompt on the calibration probe, one per (row,
sample), in a fixed order (row, sample): `requested[k, g]` is the row's delta of goal g (NaN:
inactive), `realized[k, g]` the answer's normalized value minus the source's (NaN: not
measured). Everything is deterministic: a stable sort and fixed-order sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from steerdsl.calibration.words import Bucket, buckets
from steerdsl.plan.model import Modifier
from steerdsl.prompts.render import modifier


@dataclass(frozen=True)
class BucketFit:
    """What asking with one bucket's words moves a goal by: the mean of the monotone fit over
    the observations requested in that bucket (direction `sign`), or the fit at the bucket's
    middle when none was."""

    sign: int  # +1 up, -1 down
    bucket: Bucket
    predicted: float
    points: int  # observations requested in this bucket and direction

    @property
    def asked(self) -> float:
        return self.sign * self.bucket.asked


@dataclass(frozen=True)
class GoalFit:
    """The monotone fit of one goal: `knots_x` (distinct requested deltas, ascending) and
    `knots_y` (fitted realized movement there, non-decreasing); and per word bucket, what it
    predicts."""

    goal: str
    knots_x: np.ndarray
    knots_y: np.ndarray
    points: int  # observations the fit is made of
    buckets: list[BucketFit]

    def predict(self, requested: np.ndarray | float) -> np.ndarray:
        """Fitted realized movement; linear between knots, flat beyond the ends."""
        return np.interp(requested, self.knots_x, self.knots_y)


@dataclass(frozen=True)
class SideEffect:
    """`effect` moves by about `coefficient * delta` when `cause` is asked to move by delta
    and `effect` is not asked to move (least squares through the origin)."""

    cause: str
    effect: str
    coefficient: float
    points: int


@dataclass(frozen=True)
class Calibration:
    """What calibrated requests need of a fit (and what the store keeps): per goal, what each
    word bucket is predicted to move it by; the side effects."""

    buckets: dict[str, list[BucketFit]]  # goals with at least one observation
    effects: list[SideEffect]


@dataclass(frozen=True)
class Fit:
    goals: dict[str, GoalFit]  # goals with at least one observation
    effects: list[SideEffect]

    def calibration(self) -> Calibration:
        return Calibration({g: f.buckets for g, f in self.goals.items()}, self.effects)


def isotonic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators: the non-decreasing step function nearest (least squares) to
    the points, as (distinct x ascending, fitted y at each). Equal x are pooled first."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    distinct, start = np.unique(xs, return_index=True)
    counts = np.diff(np.append(start, len(xs))).astype(float)
    sums = np.add.reduceat(ys, start) if len(xs) else np.array([])
    # Blocks of pooled knots: (sum, weight, knots in the block).
    block_sum: list[float] = []
    block_weight: list[float] = []
    block_size: list[int] = []
    for s, w in zip(sums, counts):
        block_sum.append(float(s))
        block_weight.append(float(w))
        block_size.append(1)
        while len(block_sum) > 1 and \
                block_sum[-2] / block_weight[-2] > block_sum[-1] / block_weight[-1]:
            s2, w2, n2 = block_sum.pop(), block_weight.pop(), block_size.pop()
            block_sum[-1] += s2
            block_weight[-1] += w2
            block_size[-1] += n2
    fitted = np.repeat([s / w for s, w in zip(block_sum, block_weight)], block_size)
    return distinct, fitted.astype(float)


def fit_calibration(goals: list[str], requested: np.ndarray, realized: np.ndarray,
                    modifiers: list[Modifier]) -> Fit:
    """The fit of every goal and every (cause, effect) pair that has observations; buckets by
    the prompt's `modifiers`."""
    fits: dict[str, GoalFit] = {}
    for j, goal in enumerate(goals):
        use = ~np.isnan(requested[:, j]) & ~np.isnan(realized[:, j])
        if use.any():
            x = requested[use, j]
            kx, ky = isotonic(x, realized[use, j])
            fits[goal] = GoalFit(goal, kx, ky, int(use.sum()), [])
            fits[goal].buckets.extend(_bucket_fits(fits[goal], x, modifiers))
    effects = []
    for i, cause in enumerate(goals):
        for j, effect in enumerate(goals):
            if i == j:
                continue
            use = ~np.isnan(requested[:, i]) & np.isnan(requested[:, j]) & \
                ~np.isnan(realized[:, j])
            d, m = requested[use, i], realized[use, j]
            if use.any():  # fsum: exact, so the same on every machine
                coefficient = math.fsum(d * m) / math.fsum(d * d)
                effects.append(SideEffect(cause, effect, coefficient, int(use.sum())))
    return Fit(fits, effects)


def _bucket_fits(fit: GoalFit, requested: np.ndarray,
                 modifiers: list[Modifier]) -> list[BucketFit]:
    """Each observation belongs to the bucket of the words it was asked with."""
    words = np.array([modifier(abs(float(x)), modifiers) or "" for x in requested])
    out = []
    for sign in (-1, 1):
        for b in buckets(modifiers):
            magnitude = sign * requested
            inside = requested[(words == b.word) & (magnitude >= b.lo) & (magnitude <= b.hi)
                               & (magnitude > 0)]
            predicted = math.fsum(fit.predict(inside)) / len(inside) if len(inside) \
                else float(fit.predict(sign * b.asked))
            out.append(BucketFit(sign, b, predicted, len(inside)))
    return out
