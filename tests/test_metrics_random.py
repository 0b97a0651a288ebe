"""The SQL metrics against a separate numpy implementation on thousands of random answers,
edge cases included; best-of-N selection; what counts (current, status, complete answers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from support.metrics_store import new_store, write_answers, write_probe
from support.reference_metrics import METRIC_NAMES, answer_metrics, select_best, summary_stats

NAN = math.nan


def _values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform values mixed with exact 0.0, 1.0 and tenths (values on bin boundaries)."""
    x = rng.uniform(0, 1, shape)
    kind = rng.integers(0, 4, shape)
    x = np.where(kind == 1, rng.integers(0, 11, shape) / 10, x)
    x = np.where(kind == 2, rng.choice([0.0, 1.0], shape), x)
    return x


def _probe(rng: np.random.Generator, rows: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    source = _values(rng, (rows, d))
    # deltas: random, on the static cuts, or exactly reaching 0 / 1
    delta = np.where(rng.random((rows, d)) < 0.5, rng.uniform(-0.7, 0.7, (rows, d)),
                     rng.choice([-1.0, -0.5, -0.2, -0.1, 0.1, 0.2, 0.5, 1.0], (rows, d)))
    delta = np.where(rng.random((rows, d)) < 0.2, 1.0 - source, delta)
    # number of active goals per row: 0 (no active goal) up to d (all active)
    k = rng.integers(0, d + 1, rows)
    order = np.argsort(rng.random((rows, d)), axis=1)
    active = np.zeros((rows, d), dtype=bool)
    for r in range(rows):
        active[r, order[r, :k[r]]] = True
    return source, np.where(active, delta, NAN)


def _outputs(rng, source, delta, samples: int) -> np.ndarray:
    rows, d = source.shape
    target = np.where(np.isnan(delta), source, source + delta)
    out = np.clip(np.repeat(target[:, None, :], samples, axis=1)
                  + rng.normal(0, 0.2, (rows, samples, d)), 0, 1)
    pick = rng.random((rows, samples, d))
    out = np.where(pick < 0.15, _values(rng, (rows, samples, d)), out)
    # outputs exactly on the source's dynamic cuts (source 0.5, output 0.6 and the like)
    cuts = np.array([-0.5, -0.2, -0.1, 0.1, 0.2, 0.5])
    on_cut = np.clip(source[:, None, :] + rng.choice(cuts, (rows, samples, d)), 0, 1)
    out = np.where((pick >= 0.15) & (pick < 0.3), on_cut, out)
    out = np.where((pick >= 0.3) & (pick < 0.35), np.repeat(source[:, None, :], samples, 1), out)
    if samples > 1:  # exact ties between samples: the lowest sample must win
        tie = rng.random(rows) < 0.1
        out[tie, 1] = out[tie, 0]
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(20250529)
    path = tmp_path_factory.mktemp("random") / "store.duckdb"
    con = new_store(path)
    cases = {}
    for probe, d, rows in [("four", 4, 1500), ("six", 6, 300), ("one", 1, 200)]:
        source, delta = _probe(rng, rows, d)
        source[:3] = NAN if probe == "one" else source[:3]  # a failed source measurement
        goals = [f"{probe}_{j}" for j in range(d)]
        write_probe(con, goals, source, delta, probe_hash=f"P-{probe}", name=probe)
        for inter, samples in [("best3", 3), ("direct", 1)]:
            out = _outputs(rng, source, delta, samples)
            out[5, 0, 0] = NAN  # a failed output measurement
            status = rng.random((rows, samples)) >= 0.05
            gen = f"G-{probe}-{inter}"
            write_answers(con, goals, out, gen_hash=gen, model=f"m_{probe}",
                          intervention=inter, probe_hash=f"P-{probe}", status=status)
            cases[gen] = (source, delta, out, status)
    # A stale generation and a stale probe: in the tables, not in `current`.
    source, delta = _probe(rng, 10, 4)
    write_probe(con, ["a", "b", "c", "d"], source, delta, probe_hash="P-old", name="four",
                current=False)
    write_answers(con, ["a", "b", "c", "d"], _outputs(rng, source, delta, 1), gen_hash="G-old",
                  model="m_four", intervention="direct", probe_hash="P-old", current=False)
    con.close()
    con = new_store(path)
    yield con, cases
    con.close()


def test_metrics_agree_with_numpy(store):
    con, cases = store
    df = con.execute("SELECT * FROM metrics").df()
    n_checked = 0
    for gen, (source, delta, out, status) in cases.items():
        sub = df[df.gen_hash == gen].sort_values(["row_id", "sample"])
        assert len(sub) == int(status.sum())  # one row per ok answer, nothing else
        rows, samples = sub.row_id.to_numpy(), sub["sample"].to_numpy()
        refs = [answer_metrics(source[r], delta[r], source[r] + delta[r], out[r, s])
                for r, s in zip(rows, samples)]
        for name in METRIC_NAMES:
            got = sub[name].to_numpy(dtype=float)  # NULL -> NaN
            ref = np.array([x[name] for x in refs])
            assert (np.isnan(got) == np.isnan(ref)).all(), (gen, name)
            ok = ~np.isnan(ref)
            err = np.abs(got[ok] - ref[ok])
            bad = err > np.maximum(1e-9, 1e-9 * np.abs(ref[ok]))
            assert not bad.any(), (gen, name, rows[ok][bad][:5], got[ok][bad][:5],
                                   ref[ok][bad][:5])
        n_active = (~np.isnan(delta[rows])).sum(axis=1)
        assert (sub.n_active.to_numpy() == n_active).all()
        n_checked += len(sub)
    assert n_checked > 5000


def test_selection_is_best_of_n(store):
    con, cases = store
    df = con.execute("SELECT gen_hash, row_id, sample, steering_error_raw, selected "
                     "FROM metrics ORDER BY gen_hash, row_id, sample").df()
    for gen in cases:
        sub = df[df.gen_hash == gen]
        se = sub.steering_error_raw.to_numpy(dtype=float)
        samples, selected = sub["sample"].to_numpy(), sub.selected.to_numpy()
        starts = np.flatnonzero(np.r_[True, np.diff(sub.row_id.to_numpy()) != 0])
        for begin, end in zip(starts, np.r_[starts[1:], len(sub)]):
            expected = begin + select_best(se[begin:end].tolist())
            assert np.flatnonzero(selected[begin:end]).tolist() == [expected - begin], \
                (gen, sub.row_id.iloc[begin], samples[begin:end], se[begin:end])


def test_selection_ties_and_inactive_targets(tmp_path):
    """Ties go to the lowest sample; inactive goals are pulled toward their sources (the
    reference tool's -1 filling preferred answers that lowered inactive goals)."""
    con = new_store(tmp_path / "s.duckdb")
    write_probe(con, ["x", "y"], np.array([[0.5, 0.5]]), np.array([[0.2, NAN]]))
    out = np.array([[[0.7, 0.1],    # on target for x, but y dropped by 0.4
                     [0.6, 0.5],    # undershoots x by 0.1, y untouched: nearest
                     [0.6, 0.5]]])  # a tie with sample 1
    write_answers(con, ["x", "y"], out)
    rows = con.execute("SELECT sample, selected FROM metrics ORDER BY sample").fetchall()
    assert rows == [(0, False), (1, True), (2, False)]
    con.close()


def test_select_first_keeps_sample_zero(tmp_path):
    con = new_store(tmp_path / "s.duckdb")
    write_probe(con, ["x"], np.array([[0.5]]), np.array([[0.2]]))
    write_answers(con, ["x"], np.array([[[0.1], [0.7]]]),
                  settings='{"intervention": {"select": "first"}}')
    assert con.execute("SELECT sample FROM metrics WHERE selected").fetchall() == [(0,)]
    con.close()


def test_incomplete_answers_get_null_metrics(tmp_path):
    con = new_store(tmp_path / "s.duckdb")
    write_probe(con, ["x", "y"], np.array([[0.5, 0.5], [0.5, 0.5]]),
                np.array([[0.2, NAN], [0.2, NAN]]))
    write_answers(con, ["x", "y"], np.array([[[0.7, 0.5]], [[0.7, 0.5]]]))
    con.execute("DELETE FROM outputs WHERE row_id = 1 AND goal = 'y'")  # a goal not scored
    rows = con.execute("SELECT row_id, steering_error, orthogonality_paper FROM metrics "
                       "ORDER BY row_id").fetchall()
    assert rows == [(0, 0.0, 0.0), (1, None, None)]
    con.close()


def test_only_current_and_ok_answers_count(store):
    con, cases = store
    gens = {g for (g,) in con.execute("SELECT DISTINCT gen_hash FROM metrics").fetchall()}
    assert gens == set(cases)
    answer_gens = {g for (g,) in con.execute("SELECT DISTINCT gen_hash FROM answers").fetchall()}
    assert answer_gens == set(cases)
    failed = con.execute("SELECT count(*) FROM answers a JOIN calls c USING (gen_hash, row_id, "
                         "sample) WHERE c.status <> 'ok'").fetchone()[0]
    assert failed == 0


def test_answers_view_matches_tables(store):
    con, cases = store
    source, delta, out, status = cases["G-four-best3"]
    rows = con.execute("SELECT row_id, sample, goal, active, source, delta, target, output "
                       "FROM answers WHERE gen_hash = 'G-four-best3' ORDER BY row_id, sample, "
                       "goal").fetchall()
    assert len(rows) == int(status.sum()) * 4
    for row_id, sample, goal, active, src, dl, tg, op in rows[:400]:
        j = int(goal.split("_")[1])
        assert src == source[row_id, j]
        assert active == (not np.isnan(delta[row_id, j]))
        assert (dl is None) == np.isnan(delta[row_id, j])
        if dl is not None:
            assert dl == delta[row_id, j] and tg == source[row_id, j] + delta[row_id, j]
        assert (op is None and np.isnan(out[row_id, sample, j])) or op == out[row_id, sample, j]


def test_summary_matches_numpy(store):
    con, cases = store
    df = con.execute("SELECT * FROM metrics WHERE selected").df()
    summary = con.execute("SELECT * FROM summary").df()
    assert len(summary) == len(cases) * len(METRIC_NAMES)
    for rec in summary.itertuples():
        sub = df[(df.model == rec.model) & (df.intervention == rec.intervention)]
        ref = summary_stats(sub[rec.metric].to_numpy(dtype=float))
        assert rec.n == ref["n"]
        for stat in ("median", "q1", "q3", "iqr", "mean", "std", "min", "max"):
            assert getattr(rec, stat) == pytest.approx(ref[stat], rel=1e-9, abs=1e-12), \
                (rec.model, rec.intervention, rec.metric, stat)


def test_calls_summary_counts(store):
    con, cases = store
    rows = con.execute("SELECT gen_hash, calls, ok, errors FROM calls_summary").fetchall()
    assert len(rows) == len(cases)
    for gen, calls, ok, errors in rows:
        status = cases[gen][3]
        assert (calls, ok, errors) == (status.size, int(status.sum()), int((~status).sum()))


def test_bin_macros_match_numpy(tmp_path):
    """steer_bin / steer_delta_bin on a grid of values on and around the cuts, in and out of
    [0, 1], against the numpy reference's literal clip-and-count."""
    from support.reference_metrics import binned, static_bin

    con = new_store(tmp_path / "s.duckdb")
    grid = np.r_[np.arange(-3, 14) / 10, [-1.0, -0.05, 0.95, 1.05, 2.0],
                 np.random.default_rng(3).uniform(-0.5, 1.5, 40)]
    x, z0 = (a.ravel() for a in np.meshgrid(grid, grid))
    con.execute("CREATE TEMP TABLE v AS SELECT * FROM (SELECT unnest(range(?)) AS i, "
                "unnest(?) AS x, unnest(?) AS z0)", [len(x), x.tolist(), z0.tolist()])
    got = con.execute("SELECT steer_bin(x, z0), steer_delta_bin(x) FROM v ORDER BY i"
                      ).fetchnumpy()
    values = list(got.values())
    assert (values[0] == binned(x, z0)).all()
    assert (values[1] == static_bin(x)).all()
    con.close()
