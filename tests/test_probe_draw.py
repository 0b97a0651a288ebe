"""Drawing probes: every property of METHOD.md section 2 on large probes, determinism."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steerdsl.errors import RunError
from steerdsl.plan.model import SampledProbePlan
from steerdsl.probe.draw import delta_from_uniform, draw_probe

GOALS = ["reading_difficulty", "formality", "textual_diversity", "text_length"]
DZ, DMIN, DMAX = 0.1, -0.7, 0.7


def plan(**kw) -> SampledProbePlan:
    base = dict(name="big", corpus="seeds", goals=GOALS, sources=2000, requests_per_source=8,
                active_min=3, active_max=3, seed=20250529)
    base.update(kw)
    return SampledProbePlan(**base)


def skewed_corpus(n=20000, seed=0) -> np.ndarray:
    """Most texts short, easy and informal: vectors pile up near 0 (and a few at 0 and 1)."""
    rng = np.random.default_rng(seed)
    x = rng.beta(1.5, 5.0, (n, len(GOALS)))
    x[:50] = 0.0
    x[50:100] = 1.0
    return x


@pytest.fixture(scope="module")
def corpus():
    return skewed_corpus()


@pytest.fixture(scope="module")
def drawn(corpus):
    return draw_probe(plan(), corpus)


def allowed_position(s, delta):
    """Where delta sits on its allowed set, as a fraction of the set's total length."""
    lo_start = np.maximum(-s, DMIN)
    lo_len = np.maximum(-DZ - lo_start, 0)
    hi_len = np.maximum(np.minimum(1 - s, DMAX) - DZ, 0)
    x = np.where(delta < 0, delta - lo_start, lo_len + delta - DZ)
    return x / (lo_len + hi_len)


def test_rows_sources_and_shapes(drawn, corpus):
    assert drawn.n_rows == 16000
    assert drawn.delta.shape == drawn.target.shape == (16000, 4)
    chosen = drawn.source_index[::8]
    assert len(np.unique(chosen)) == 2000  # sources distinct
    # each source's 8 requests are consecutive rows
    np.testing.assert_array_equal(drawn.source_index, np.repeat(chosen, 8))
    assert drawn.weights.shape == (20000,)
    assert drawn.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(drawn.weights > 0)


def test_exactly_k_active_goals_uniformly(drawn):
    active = ~np.isnan(drawn.delta)
    np.testing.assert_array_equal(active, ~np.isnan(drawn.target))
    assert np.all(active.sum(axis=1) == 3)
    # each goal is active in 3/4 of the rows (sd of the share ~ 0.0034)
    np.testing.assert_allclose(active.mean(axis=0), 0.75, atol=0.015)


def test_deltas_targets_bounds_and_uniformity(drawn, corpus):
    s = corpus[drawn.source_index]
    active = ~np.isnan(drawn.delta)
    d, t, s = drawn.delta[active], drawn.target[active], s[active]
    assert np.all(np.abs(d) >= DZ - 1e-15)
    assert np.all((d >= DMIN - 1e-15) & (d <= DMAX + 1e-15))
    assert np.all((t >= 0) & (t <= 1))
    np.testing.assert_allclose(t, s + d, rtol=0, atol=1e-15)
    # uniform over the union of both sides: positions on the allowed set fill 10 equal bins
    # equally (48,000 deltas: 4,800 per bin, sd ~ 66)
    pos = allowed_position(s, d)
    assert np.all((pos >= -1e-12) & (pos <= 1 + 1e-12))
    counts = np.histogram(pos, bins=10, range=(0, 1))[0]
    np.testing.assert_allclose(counts / len(pos), 0.1, atol=0.006)
    # a source in the middle moves down as often as up
    mid = (s > 0.4) & (s < 0.6)
    assert abs(np.mean(d[mid] < 0) - 0.5) < 0.03


def test_sources_at_the_edges_move_inward():
    x = np.repeat([[0.0] * 4, [1.0] * 4], 50, axis=0)
    drawn = draw_probe(plan(sources=100, active_min=4, active_max=4), x)
    s, d = x[drawn.source_index], drawn.delta
    assert np.all(d[s == 0.0] >= DZ) and np.all(d[s == 0.0] <= DMAX)
    assert np.all(d[s == 1.0] <= -DZ) and np.all(d[s == 1.0] >= DMIN)
    assert np.all((drawn.target >= 0) & (drawn.target <= 1))


def test_active_range_draws_k_per_row(corpus):
    drawn = draw_probe(plan(active_min=1, active_max=3, sources=1000), corpus)
    k = (~np.isnan(drawn.delta)).sum(axis=1)
    assert set(np.unique(k)) == {1, 2, 3}
    np.testing.assert_allclose(np.bincount(k, minlength=4)[1:] / len(k), 1 / 3, atol=0.02)


def test_zero_active_goals_gives_unchanged_requests(corpus):
    drawn = draw_probe(plan(active_min=0, active_max=0, sources=10), corpus)
    assert np.all(np.isnan(drawn.delta)) and np.all(np.isnan(drawn.target))


def tv_from_uniform(points: np.ndarray, bins: int = 3) -> float:
    """Total variation distance between the joint histogram of points and uniform."""
    cells = np.minimum((points * bins).astype(int), bins - 1)
    flat = np.ravel_multi_index(cells.T, (bins,) * points.shape[1])
    hist = np.bincount(flat, minlength=bins ** points.shape[1]) / len(points)
    return 0.5 * np.abs(hist - 1 / bins ** points.shape[1]).sum()


def test_weighting_moves_sources_toward_uniform(drawn, corpus):
    unweighted = draw_probe(plan(weighting="none"), corpus)
    assert unweighted.auc is None
    np.testing.assert_array_equal(unweighted.weights, np.full(20000, 1 / 20000))
    tv_weighted = tv_from_uniform(corpus[drawn.source_index[::8]])
    tv_plain = tv_from_uniform(corpus[unweighted.source_index[::8]])
    # measured over seeds 0..4: 0.63-0.64 weighted against 0.78-0.79 unweighted (81 cells,
    # 2,000 sources; the spread between seeds is under 0.02)
    assert tv_weighted < tv_plain - 0.1
    # the classifier sees the skew; on a uniform corpus it is near chance
    assert drawn.auc > 0.9
    uniform = np.random.default_rng(5).random((20000, 4))
    assert abs(draw_probe(plan(), uniform).auc - 0.5) < 0.02


def test_sources_with_nan_are_never_drawn(corpus):
    x = corpus[:3000].copy()
    x[::3, 1] = np.nan  # a third of the texts failed to measure on one goal
    drawn = draw_probe(plan(sources=2000, requests_per_source=1), x)
    assert np.all(drawn.source_index % 3 != 0)
    assert np.all(drawn.weights[::3] == 0)
    assert drawn.weights.sum() == pytest.approx(1.0)
    with pytest.raises(RunError, match="only 2000 usable texts .1000 more could not be "):
        draw_probe(plan(sources=2001, requests_per_source=1), x)


def test_sources_missing_a_value_outside_the_probe_goals_are_never_drawn(corpus):
    # The probe moves only two goals, but its rows carry every goal of the space: a text
    # whose value failed for another goal would give answers without scores.
    x = corpus[:300, :2]
    unmeasured = np.zeros(300, bool)
    unmeasured[:100] = True
    p = plan(goals=GOALS[:2], sources=200, requests_per_source=1, active_min=1, active_max=1)
    drawn = draw_probe(p, x, unmeasured=unmeasured)
    assert sorted(drawn.source_index.tolist()) == list(range(100, 300))
    assert np.all(drawn.weights[:100] == 0)
    with pytest.raises(RunError, match=r"only 200 usable texts \(100 more could not be "
                                       r"measured\)"):
        draw_probe(p.model_copy(update={"sources": 201}), x, unmeasured=unmeasured)


def test_seeds_change_the_probe_and_repeat_it(corpus):
    a = draw_probe(plan(sources=100), corpus)
    b = draw_probe(plan(sources=100), corpus)
    c = draw_probe(plan(sources=100, seed=1), corpus)
    for name in ("source_index", "delta", "target", "weights"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    assert not np.array_equal(a.source_index, c.source_index)
    assert not np.array_equal(a.delta, c.delta, equal_nan=True)


DRAW_IN_CHILD = textwrap.dedent("""
    import importlib.util, sys, numpy as np
    spec = importlib.util.spec_from_file_location("probe_draw_test", sys.argv[1])
    t = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(t)
    d = t.draw_probe(t.plan(), t.skewed_corpus())
    for a in (d.source_index, d.delta, d.target, np.array([d.auc]), d.weights):
        sys.stdout.buffer.write(a.tobytes())
""")
# A matrix-vector product numpy hands to BLAS, as the density-ratio fit once did.
BLAS_PRODUCT_IN_CHILD = textwrap.dedent("""
    import sys, numpy as np
    rng = np.random.default_rng(0)
    x, v = rng.random((40000, 5)), rng.random(40000)
    sys.stdout.buffer.write((x.T @ v).tobytes())
""")


def in_child(code: str, **env: str) -> bytes:
    # The environment is kept (some machines set OPENBLAS_CORETYPE); only `env` changes.
    return subprocess.run([sys.executable, "-c", code, __file__], capture_output=True,
                          check=True, env={**os.environ, **env}).stdout


def drawn_bytes(d) -> bytes:
    return b"".join(a.tobytes() for a in (d.source_index, d.delta, d.target,
                                          np.array([d.auc]), d.weights))


def test_same_probe_bit_for_bit_in_another_process(drawn):
    # A fresh interpreter with a different hash seed: nothing may depend on process state.
    assert in_child(DRAW_IN_CHILD, PYTHONHASHSEED="123") == drawn_bytes(drawn)


def test_same_probe_bit_for_bit_under_other_blas_kernels(drawn):
    kernels = ("Haswell", "Prescott", "SkylakeX")
    products = {k: in_child(BLAS_PRODUCT_IN_CHILD, OPENBLAS_CORETYPE=k) for k in kernels}
    if len(set(products.values())) == 1:
        pytest.skip("OPENBLAS_CORETYPE does not change numpy's BLAS results here")
    # The kernels sum in different orders (the old fit's weights differed in the last bit)...
    assert products["Haswell"] != products["Prescott"]
    # ... and the probe, weights included, does not notice.
    for kernel in kernels:
        assert in_child(DRAW_IN_CHILD, OPENBLAS_CORETYPE=kernel) == drawn_bytes(drawn), kernel


def test_same_probe_under_other_numpy_simd_levels(drawn):
    # numpy's vectorized exp, log and tanh differ in the last bit between CPU generations
    # (AVX-512, AVX2, SSE). The weights may too; the draw compares keys that lie far more
    # than a few bits apart, so the probe itself is the same.
    umath = np._core._multiarray_umath
    dispatched = [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]
    if not dispatched:
        pytest.skip("numpy dispatches no optional CPU features on this machine")
    out = in_child(DRAW_IN_CHILD, NPY_DISABLE_CPU_FEATURES=" ".join(dispatched))
    mine = drawn_bytes(drawn)
    n_weights = len(drawn.weights) * 8
    assert out[:-n_weights] == mine[:-n_weights]  # source_index, delta, target, auc
    np.testing.assert_allclose(np.frombuffer(out[-n_weights:]), drawn.weights, rtol=1e-12)


def test_delta_edges_by_hand():
    s = np.array([0.0, 0.05, 0.5, 0.95, 1.0])
    # u = 0 lands on the start of the set: the lower side when it exists
    np.testing.assert_allclose(delta_from_uniform(s, np.zeros(5), DMIN, DMAX, DZ),
                               [0.1, 0.1, -0.5, -0.7, -0.7])
    # s = 0.5: lower [-0.5, -0.1] and upper [0.1, 0.5], 0.4 each; u = 0.75 -> 0.2 into upper
    assert delta_from_uniform(np.array([0.5]), np.array([0.75]), DMIN, DMAX, DZ)[0] == \
        pytest.approx(0.3)
    # only a deadzone of 0.5 or more can leave no room (draw_probe refuses such plans)
    with pytest.raises(RunError, match="no room for a delta"):
        delta_from_uniform(np.array([0.5]), np.array([0.5]), DMIN, DMAX, 0.6)


@pytest.mark.parametrize("kw,message", [
    (dict(deadzone=0.5), "deadzone 0.5 must be in"),
    (dict(delta_min=0.1), "must reach beyond the deadzone"),
    (dict(active_min=2, active_max=5), "active 2..5 must lie in 0..4"),
    (dict(sources=0), "at least 1"),
])
def test_bad_plans_are_refused(kw, message, corpus):
    with pytest.raises(RunError, match=message):
        draw_probe(plan(**kw), corpus[:100])


def test_bad_sources_are_refused(corpus):
    with pytest.raises(RunError, match="N x 4 matrix"):
        draw_probe(plan(), corpus[:, :3])
    with pytest.raises(RunError, match=r"normalized into \[0, 1\]"):
        draw_probe(plan(sources=10), corpus * 2)


@settings(max_examples=300, deadline=None)
@given(s=st.floats(0, 1), u=st.floats(0, 1, exclude_max=True), dz=st.floats(0, 0.499),
       below=st.floats(1e-6, 1), above=st.floats(1e-6, 1))
def test_every_valid_setting_gives_a_valid_delta(s, u, dz, below, above):
    dmin, dmax = -dz - below, dz + above
    delta = delta_from_uniform(np.array([s]), np.array([u]), dmin, dmax, dz)[0]
    assert abs(delta) >= dz - 1e-12
    assert dmin - 1e-12 <= delta <= dmax + 1e-12
    assert -1e-12 <= s + delta <= 1 + 1e-12
