"""Rewards against the store's metrics: hundreds of answers generated and scored by the real
pipeline, then the same answers through reward_functions; and hand-made edge cases (perfect,
no move, overshoot, values at 0 and 1) with each option against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from steerdsl.errors import RunError
from steerdsl.plan.model import RewardPlan
from steerdsl.store.db import open_store
from steerdsl.train.dataset import training_set
from steerdsl.train.rewards import GoalSpace, reward_functions, reward_values

GOALS = ["reading_difficulty", "formality", "textual_diversity", "text_length", "commas"]
METRICS = {"steering_error": "steering_error_raw", "miscalibration": "miscalibration_raw",
           "orthogonality": "orthogonality_raw"}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    import steerdsl
    from support.train_store import scored_store

    spec = scored_store(tmp_path_factory.mktemp("rewards"), sources=16)
    plan = steerdsl.load(spec).plan()
    con = open_store(plan.experiment.store)
    yield plan, con
    con.close()


def _answers(con):
    """Every scored answer: (intervention, row_id, raw answer, metrics by name, outputs)."""
    rows = con.execute(
        "SELECT m.intervention, m.row_id, c.raw_answer, m.steering_error_raw, "
        "m.miscalibration_raw, m.orthogonality_raw, "
        "(SELECT list(a.output ORDER BY a.goal) FROM answers a WHERE a.gen_hash = m.gen_hash "
        " AND a.row_id = m.row_id AND a.sample = m.sample) AS outputs, "
        "(SELECT list(a.goal ORDER BY a.goal) FROM answers a WHERE a.gen_hash = m.gen_hash "
        " AND a.row_id = m.row_id AND a.sample = m.sample) AS goals "
        "FROM metrics m JOIN calls c USING (gen_hash, row_id, sample) "
        "ORDER BY m.intervention, m.row_id, m.sample").fetchall()
    return rows


def test_rewards_equal_the_metrics_view_on_a_scored_store(scored):
    plan, con = scored
    answers = _answers(con)
    assert len(answers) >= 350  # 64 rows x (1 + 5) samples, but a few failed calls
    data = training_set(plan, con, "p")
    assert data.goals == GOALS
    # TRL repeats each dataset row's columns for every completion of it
    columns = {name: [values[row] for _, row, *_ in answers]
               for name, values in data.columns.items()}
    completions = [a[2] for a in answers]
    rewards = [RewardPlan(metric=m) for m in METRICS] + \
        [RewardPlan(metric="error", goal=g) for g in GOALS]
    with GoalSpace(plan, con) as space:
        functions = reward_functions(space, rewards)
        got = {f.__name__: np.array(f(prompts=columns["prompt"], completions=completions,
                                      **columns)) for f in functions}
        # measured once per distinct cleaned answer, shared by every reward function
        assert space.measured == len({a for a in space._cache})
    assert all(np.isfinite(v).all() for v in got.values())

    unmeasurable = 0
    for name, column in METRICS.items():
        stored = np.array([np.nan if a[3 + list(METRICS).index(name)] is None
                           else a[3 + list(METRICS).index(name)] for a in answers])
        ok = ~np.isnan(stored)
        assert np.abs(got[name][ok] + stored[ok]).max() <= 1e-9, name
        worst = -math.sqrt(len(GOALS)) if name == "steering_error" else -1.0
        assert (got[name][~ok] == worst).all(), name
        unmeasurable = int((~ok).sum())
    assert unmeasurable > 10  # the FAIL answers

    # per-goal errors: -|z* - zh| from the answers view, -1 where the value is missing
    order = sorted(GOALS)
    for g in GOALS:
        target = np.array(data.columns[f"target_{g}"])[[a[1] for a in answers]]
        output = np.array([np.nan if a[6][order.index(g)] is None else a[6][order.index(g)]
                           for a in answers])
        expected = np.where(np.isnan(output), -1.0, -np.abs(target - output))
        assert np.abs(got[f"error_{g}"] - expected).max() <= 1e-12, g

    # the edge cases really occurred
    outputs = np.array([[np.nan if v is None else v for v in a[6]] for a in answers])
    assert (outputs == 0).any() and (outputs == 1).any()
    assert any(c.startswith("Here is") for c in completions)
    assert "<THINK>I would rather not.</THINK>" in completions  # empty, once cleaned
    sources = np.column_stack([data.columns[f"source_{g}"] for g in order])
    no_move = (outputs == sources[[a[1] for a in answers]]).all(axis=1)
    assert no_move.sum() > 10 and (got["steering_error"][no_move] < 0).all()
    assert all(d is None for d in data.columns["delta_commas"])  # a goal never asked to move


def test_the_goal_space_measures_like_the_score_stage(scored):
    plan, con = scored
    rows = con.execute("SELECT c.raw_answer, a.goal, a.output FROM answers a "
                       "JOIN calls c USING (gen_hash, row_id, sample) "
                       "WHERE a.intervention = 'direct' ORDER BY a.row_id, a.goal").fetchall()
    with GoalSpace(plan, con) as space:
        values = space.outputs([r[0] for r in rows])
    for i, (_, goal, output) in enumerate(rows):
        if output is None:
            assert np.isnan(values[goal][i])
        else:
            assert values[goal][i] == output


def test_conversational_completions_and_errors(scored):
    plan, con = scored
    data = training_set(plan, con, "p")
    with GoalSpace(plan, con) as space:
        (f,) = reward_functions(space, [RewardPlan(metric="steering_error")])
        text = data.columns["source_text"][:3]
        plain = f(completions=text, **{k: v[:3] for k, v in data.columns.items()})
        chat = f(completions=[[{"role": "assistant", "content": t}] for t in text],
                 **{k: v[:3] for k, v in data.columns.items()})
        assert plain == chat and f.weight == 1.0 and f.__name__ == "steering_error"
        with pytest.raises(RunError, match="needs the training set's columns source_commas"):
            f(completions=text, **{k: v[:3] for k, v in data.columns.items()
                                   if k != "source_commas"})
        with pytest.raises(RunError, match="no goal 'nope'"):
            reward_functions(space, [RewardPlan(metric="error", goal="nope")])


# --- hand-made edge cases: METHOD.md section 5 and each option ---------------------------------

NAN = math.nan
HAND_GOALS = ["rd", "td", "tl", "fm"]


def _case(source, delta, output):
    source = np.array(source, float)
    delta = np.array(delta, float)
    return source, np.where(np.isnan(delta), NAN, source + delta), np.array(output, float)


CASES = {  # METHOD.md section 5 (only rd active), plus values at 0 and 1
    "perfect": _case([.5] * 4, [.3, NAN, NAN, NAN], [.8, .5, .5, .5]),
    "no move": _case([.5] * 4, [.3, NAN, NAN, NAN], [.5, .5, .5, .5]),
    "overshoot": _case([.3, .5, .5, .5], [.3, NAN, NAN, NAN], [.95, .5, .5, .5]),
    "side effect only": _case([.5] * 4, [.3, NAN, NAN, NAN], [.5, .9, .5, .5]),
    "wrong way": _case([.5] * 4, [.3, NAN, NAN, NAN], [.2, .5, .5, .5]),
    "to the edges": _case([0., 1., .5, .5], [.7, -.6, NAN, -.5], [1., 0., 0., 1.]),
}
WORKED = {  # raw SE, MIS, ORTH from METHOD.md's table
    "perfect": (0, 0, 0),
    "no move": (0.3, 0.9999999333, 0.00111111095),
    "overshoot": (0.35, 1.166666589, 5.982629195e-08),
    "side effect only": (0.5, 0.9999999333, 0.9999250056),
    "wrong way": (0.6, 1.999999867, 2.221999773e-07),
}


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory):
    from support.metrics_store import write_answers, write_probe

    con = open_store(tmp_path_factory.mktemp("hand") / "s.duckdb")
    source = np.array([c[0] for c in CASES.values()])
    delta = np.array([c[1] - c[0] for c in CASES.values()])
    write_probe(con, HAND_GOALS, source, delta)
    write_answers(con, HAND_GOALS, np.array([c[2] for c in CASES.values()])[:, None, :])
    yield con
    con.close()


class _Space:
    """A goal space whose answers' values are given (the store's `answer r.s` texts)."""

    goals = HAND_GOALS

    def matrix(self, texts):
        return np.array([CASES[list(CASES)[int(t.split()[1].split(".")[0])]][2] for t in texts])


def _hand(reward: RewardPlan) -> np.ndarray:
    (f,) = reward_functions(_Space(), [reward])
    columns = {}
    for j, g in enumerate(HAND_GOALS):
        columns[f"source_{g}"] = [c[0][j] for c in CASES.values()]
        columns[f"target_{g}"] = [None if np.isnan(c[1][j]) else c[1][j] for c in CASES.values()]
    return np.array(f(completions=[f"answer {i}.0" for i in range(len(CASES))], **columns))


def test_hand_cases_equal_the_metrics_view_and_method_md(hand_store):
    stored = hand_store.execute("SELECT steering_error_raw, miscalibration_raw, "
                                "orthogonality_raw FROM metrics ORDER BY row_id").fetchall()
    for k, metric in enumerate(METRICS):
        got = _hand(RewardPlan(metric=metric))
        assert np.abs(got + np.array([s[k] for s in stored])).max() <= 1e-12, metric
        for i, case in enumerate(CASES):
            if case in WORKED:
                assert got[i] == pytest.approx(-WORKED[case][k], rel=1e-9, abs=1e-12), case


def test_options_against_hand_computed_values():
    # per-goal errors |z* - zh| of each case (inactive goals' targets are their sources)
    errors = {"perfect": [0, 0, 0, 0], "no move": [.3, 0, 0, 0], "overshoot": [.35, 0, 0, 0],
              "side effect only": [.3, .4, 0, 0], "wrong way": [.6, 0, 0, 0],
              "to the edges": [.3, .4, .5, 1]}
    e = np.array(list(errors.values()))
    se = _hand(RewardPlan(metric="steering_error"))
    assert se == pytest.approx(-np.sqrt((e ** 2).sum(1)), abs=1e-12)
    squared = _hand(RewardPlan(metric="steering_error", squared=True))
    assert squared == pytest.approx([0, -.09, -.1225, -.25, -.36, -1.5], abs=1e-12)
    # good_enough 0.05: every goal's error counts at least 0.05 (4 goals: 0.1 at best)
    good = _hand(RewardPlan(metric="steering_error", good_enough=0.05))
    assert good == pytest.approx([-math.sqrt(4 * .05 ** 2), -math.sqrt(.09 + 3 * .0025),
                                  -math.sqrt(.1225 + 3 * .0025), -math.sqrt(.09 + .16 + .005),
                                  -math.sqrt(.36 + 3 * .0025), -math.sqrt(1.5)],
                                 abs=1e-12)
    # decile: errors round up to the next tenth (0.35 -> 0.4; 0 stays 0; 0.8 - 0.5, which is
    # 0.30000000000000004 in floating point, stays 0.3)
    decile = _hand(RewardPlan(metric="steering_error", decile=True, squared=True))
    assert decile == pytest.approx([0, -.09, -.16, -.25, -.36, -1.5], abs=1e-12)
    both = _hand(RewardPlan(metric="steering_error", decile=True, good_enough=0.05))
    assert both == pytest.approx([-math.sqrt(4 * .01), -math.sqrt(.09 + .03),
                                  -math.sqrt(.16 + .03), -math.sqrt(.25 + .02),
                                  -math.sqrt(.36 + .03), -math.sqrt(1.5)], abs=1e-12)
    rd = _hand(RewardPlan(metric="error", goal="rd"))
    assert rd == pytest.approx([0, -.3, -.35, -.3, -.6, -.3], abs=1e-12)
    td = _hand(RewardPlan(metric="error", goal="td", good_enough=0.1, decile=True))
    assert td == pytest.approx([-.1, -.1, -.1, -.4, -.1, -.4], abs=1e-12)


def test_unmeasurable_answers_get_the_worst_reward_never_nan():
    source = np.array([[.5, .5], [.5, .5], [NAN, .5]])
    target = np.array([[.8, NAN], [.8, NAN], [.8, NAN]])
    output = np.array([[.8, NAN], [.8, .5], [.8, .5]])
    assert reward_values(RewardPlan(metric="steering_error"), ["a", "b"], source, target,
                         output).tolist() == [-math.sqrt(2), 0.0, -math.sqrt(2)]
    assert reward_values(RewardPlan(metric="steering_error", squared=True), ["a", "b"], source,
                         target, output).tolist() == [-2.0, 0.0, -2.0]
    for metric in ("miscalibration", "orthogonality"):
        assert reward_values(RewardPlan(metric=metric), ["a", "b"], source, target,
                             output).tolist() == [-1.0, 0.0, -1.0]
    # one goal's error needs only that goal's target and output (a's target is known in row 2)
    assert reward_values(RewardPlan(metric="error", goal="a"), ["a", "b"], source, target,
                         output).tolist() == [0.0, 0.0, 0.0]
    assert reward_values(RewardPlan(metric="error", goal="b"), ["a", "b"], source, target,
                         output).tolist() == [-1.0, 0.0, 0.0]
