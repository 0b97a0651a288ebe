"""Drawing a probe (METHOD.md section 2, steps 2-6).

Every random number comes from one numpy Generator(PCG64(plan.seed)), consumed in this fixed
order, so the same plan and sources give the same probe bit for bit in any process:
1. the N' fake points, uniform in [0,1]^d (only when weighted; N' = usable sources);
2. one standard exponential per usable source (the keys of the weighted draw);
3. k per row, when `active` is a range;
4. a (rows x d) block of uniforms ranking the goals of each row (the first k are active);
5. a (rows x d) block of uniforms placing each delta on its allowed set.

Sources with a NaN in any goal (a text whose measure failed) cannot be requested to move:
they get weight 0, are left out of the density-ratio fit, and are never drawn. The same holds
for sources marked `unmeasured`: a value failed for a goal the probe does not move but its rows
carry (every goal of the space is scored), so their answers could never be scored; and for
sources marked `excluded`: texts of the probes this one excludes (a training probe never
draws a text of the evaluated probe).

Room for a delta: the allowed set for a source s is [max(-s, dmin), -dz] U [dz, min(1-s, dmax)].
With 0 <= dz < 0.5, dmin < -dz and dmax > dz (checked up front) it is never empty for s in
[0, 1]: if s <= 0.5 the upper side has length min(1-s, dmax) - dz > 0, otherwise the lower
side has min(s, -dmin) - dz > 0. So no goal is ever left without room; the draw checks this
invariant anyway and fails loudly rather than bend the method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from steerdsl.errors import RunError
from steerdsl.plan.model import SampledProbePlan
from steerdsl.probe.weights import density_ratio_weights


@dataclass(frozen=True)
class DrawnProbe:
    goals: list[str]  # plan.goals: the columns of delta and target
    source_index: np.ndarray  # (rows,) int64: row of `sources` each probe row starts from
    delta: np.ndarray  # (rows, d) float64, NaN where the goal is inactive
    target: np.ndarray  # (rows, d) float64, NaN where the goal is inactive
    weights: np.ndarray  # (N,) sampling probabilities, sum 1; 0 for sources with NaN
    auc: float | None  # density-ratio classifier AUC; None when unweighted

    @property
    def n_rows(self) -> int:
        return len(self.source_index)


def check_probe_plan(plan: SampledProbePlan) -> None:
    """RunError when the plan's numbers cannot give a valid probe (the checker should have
    caught it; this guards API users)."""
    d = len(plan.goals)
    problems = []
    if d == 0:
        problems.append("it has no goals")
    if plan.sources < 1 or plan.requests_per_source < 1:
        problems.append("sources and requests per source must be at least 1")
    if not 0 <= plan.active_min <= plan.active_max <= d:
        problems.append(f"active {plan.active_min}..{plan.active_max} must lie in 0..{d} "
                        f"(the probe's number of goals)")
    dz, dmin, dmax = plan.deadzone, plan.delta_min, plan.delta_max
    if not 0 <= dz < 0.5:
        problems.append(f"deadzone {dz} must be in [0, 0.5)")
    if not (dmin < -dz and dmax > dz):
        problems.append(f"delta {dmin}..{dmax} must reach beyond the deadzone on both sides "
                        f"(delta_min < -{dz} and delta_max > {dz})")
    if problems:
        raise RunError(f"probe {plan.name}: " + "; ".join(problems))


def delta_from_uniform(s: np.ndarray, u: np.ndarray, dmin: float, dmax: float,
                       dz: float) -> np.ndarray:
    """Map uniforms u in [0, 1) to deltas uniform over [max(-s, dmin), -dz] U [dz, min(1-s,
    dmax)] (uniform over the total length; an empty side has length 0 and is never hit)."""
    lo_start = np.maximum(-s, dmin)
    lo_len = np.maximum(-dz - lo_start, 0.0)
    hi_len = np.maximum(np.minimum(1.0 - s, dmax) - dz, 0.0)
    total = lo_len + hi_len
    if np.any(total <= 0):
        bad = s[total <= 0]
        raise RunError(f"no room for a delta from source values {bad[:5].tolist()} with delta "
                       f"{dmin}..{dmax} deadzone {dz} (sources must lie in [0, 1])")
    x = u * total
    return np.where(x < lo_len, lo_start + x, dz + (x - lo_len))


def sample_without_replacement(rng: np.random.Generator, log_weights: np.ndarray,
                               n: int) -> np.ndarray:
    """n distinct indices drawn one after another with probabilities proportional to
    exp(log_weights) among those not yet drawn (successive sampling), in the order drawn.

    Exponential keys (Efraimidis & Spirakis 2006): the n largest log w_i - log E_i, E_i ~
    Exp(1), are such a draw. One pass, O(N log N), no underflow: weights stay in log space."""
    keys = log_weights - np.log(rng.standard_exponential(len(log_weights)))
    return np.argsort(-keys, kind="stable")[:n]


def draw_probe(plan: SampledProbePlan, sources: np.ndarray, *,
               unmeasured: np.ndarray | None = None,
               excluded: np.ndarray | None = None) -> DrawnProbe:
    """Draw the probe: `sources` is the N x d matrix of normalized source vectors over
    plan.goals (in that order); rows with a NaN, or True in the (N,) masks `unmeasured` or
    `excluded`, are never drawn (see module doc)."""
    check_probe_plan(plan)
    sources = np.asarray(sources, dtype=np.float64)
    d = len(plan.goals)
    if sources.ndim != 2 or sources.shape[1] != d:
        raise RunError(f"probe {plan.name}: sources must be an N x {d} matrix over "
                       f"{', '.join(plan.goals)}, got shape {sources.shape}")
    usable = ~np.isnan(sources).any(axis=1)
    if unmeasured is not None:
        usable &= ~np.asarray(unmeasured, dtype=bool)
    measured = int(usable.sum())
    if excluded is not None:
        usable &= ~np.asarray(excluded, dtype=bool)
    usable_index = np.flatnonzero(usable)
    values = sources[usable]
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise RunError(f"probe {plan.name}: source vectors must be normalized into [0, 1] "
                       f"(found values from {values.min()} to {values.max()})")
    n_usable = len(usable_index)
    if plan.sources > n_usable:
        skipped = len(sources) - measured
        left_out = measured - n_usable
        raise RunError(f"probe {plan.name}: asks for {plan.sources} sources but corpus "
                       f"{plan.corpus} has only {n_usable} usable texts"
                       + (f" ({skipped} more could not be measured)" if skipped else "")
                       + (f" ({left_out} more are sources of the probes it excludes: "
                          f"{', '.join(plan.exclude)})" if left_out else ""))

    rng = np.random.Generator(np.random.PCG64(plan.seed))

    weights = np.zeros(len(sources))
    if plan.weighting == "uniform":
        ratio = density_ratio_weights(values, rng.random((n_usable, d)))
        log_w, auc = ratio.log_weights, ratio.auc
        weights[usable_index] = np.exp(log_w)
    else:
        log_w, auc = np.zeros(n_usable), None  # equal keys' weights; the scale is irrelevant
        weights[usable_index] = 1.0 / n_usable

    chosen = usable_index[sample_without_replacement(rng, log_w, plan.sources)]
    m = plan.requests_per_source
    source_index = np.repeat(chosen, m).astype(np.int64)
    rows = len(source_index)

    if plan.active_min == plan.active_max:
        k = np.full(rows, plan.active_min)
    else:
        k = rng.integers(plan.active_min, plan.active_max + 1, size=rows)
    # A uniformly random order of the goals per row; its first k are the active ones.
    rank = np.argsort(np.argsort(rng.random((rows, d)), axis=1), axis=1)
    active = rank < k[:, None]

    s = sources[source_index]
    delta = delta_from_uniform(s, rng.random((rows, d)), plan.delta_min, plan.delta_max,
                               plan.deadzone)
    # s + delta lies in [0, 1] in exact arithmetic; the clip only absorbs a last-bit rounding
    # of 1 - s at the upper end.
    target = np.clip(s + delta, 0.0, 1.0)
    delta[~active] = np.nan
    target[~active] = np.nan
    return DrawnProbe(goals=list(plan.goals), source_index=source_index, delta=delta,
                      target=target, weights=weights, auc=auc)
