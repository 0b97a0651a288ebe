"""Rewards in the spec's goal space, computed in process (docs/method.md, "Rewards").

GoalSpace measures answers with the run's measuring engine (its measurement cache in the
store, the space stage's normalization bounds) and cleans them as the generate stage does.
reward_functions turns RewardPlans into functions with TRL's reward signature; their values
are the store's raw metrics (view `metrics`), negated, computed here with numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from steerdsl.errors import RunError
from steerdsl.plan.keys import SpaceKey
from steerdsl.plan.model import Plan, RewardPlan
from steerdsl.prompts.clean import clean_answer
from steerdsl.train.dataset import direct_prompt, intervention_of

EPS = 1e-8  # METHOD.md section 4, as in the metrics view
ORTH_EPS = 1e-4

RewardFn = Callable[..., list[float]]


class GoalSpace:
    """The goal space of a plan, in process: normalized values of answers per goal.

    `con`: the store (writable: new measurements go to its cache); without it the store at
    `store_path` (default: the spec's) is opened, and closed by close(). `prompt`: the prompt
    whose answers are cleaned (a cot prompt's answer follows its header); default `direct`."""

    def __init__(self, plan: Plan, con=None, *, store_path: str | Path | None = None,
                 prompt: str | None = None) -> None:
        judged = [g.name for g in plan.goals if g.measure.kind == "judge"]
        if judged:
            raise RunError(f"goal(s) {', '.join(judged)} are judged by an LLM: rewards need "
                           "goals measured in process")
        self.plan = plan
        self.goals = [g.name for g in plan.goals]
        self._own = con is None
        if con is None:
            con = _open_own_store(plan, store_path or plan.experiment.store)
        self.con = con
        try:
            self.bounds = _space_bounds(plan, con)
        except BaseException:
            self.close()
            raise
        self._prompt = plan.prompt(prompt) if prompt is not None else direct_prompt(plan)
        self._cache: dict[str, np.ndarray] = {}  # cleaned answer -> normalized values (d,)
        self.measured = 0  # distinct answers measured (or read from the store's cache)

    def outputs(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """goal -> normalized value of each answer (NaN: the goal could not measure it).
        Answers are cleaned like the generate stage's; each distinct one is measured once."""
        return dict(zip(self.goals, self.matrix(texts).T))

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """(answers, goals) normalized values, goals in plan order."""
        from steerdsl.goals.measure import measure_texts
        from steerdsl.goals.normalize import normalize

        cleaned = [clean_answer(t, self._prompt) for t in texts]
        todo = list(dict.fromkeys(t for t in cleaned if t not in self._cache))
        if todo:
            measured = measure_texts(todo, self.plan.goals, con=self.con,
                                     base_dir=Path(self.plan.spec_path).parent)
            values = np.column_stack([normalize(measured.raw[g], *self.bounds[g])
                                      for g in self.goals])
            self._cache.update(zip(todo, values))
            self.measured += len(todo)
        if not cleaned:
            return np.empty((0, len(self.goals)))
        return np.stack([self._cache[t] for t in cleaned])

    def close(self) -> None:
        if self._own and self.con is not None:
            self.con.close()
            self.con = None

    def __enter__(self) -> GoalSpace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _open_own_store(plan: Plan, path: str | Path):
    """The store, writable, after checking it holds this spec's results (not another's)."""
    from steerdsl.errors import StoreError
    from steerdsl.store.db import open_store
    from steerdsl.store.owner import conflict, spec_owner

    con = open_store(path)
    problem = conflict(con, path, spec_owner(plan))
    if problem is not None:
        con.close()
        raise StoreError(problem)
    return con


def _space_bounds(plan: Plan, con) -> dict[str, tuple[float, float]]:
    from steerdsl.store.space import load_bounds

    space = plan.stage(SpaceKey())
    bounds = load_bounds(con, space.hash, {g.name: g.measure_id for g in plan.goals})
    if len(bounds) != len(plan.goals):
        raise RunError("the goal space has not been computed yet: run "
                       f"`steerdsl run {plan.spec_path} --until space` first")
    return bounds


def reward_functions(space: GoalSpace, rewards: Sequence[RewardPlan]) -> list[RewardFn]:
    """One function per reward, each f(prompts=None, completions=..., completion_ids=None,
    **columns) -> list[float] (TRL's signature); columns are the training set's (source_<g>,
    target_<g> for every goal). f.__name__ is the reward's name, f.weight its weight."""
    return [_reward_function(space, r) for r in rewards]


def _reward_function(space: GoalSpace, reward: RewardPlan) -> RewardFn:
    if reward.metric == "error" and reward.goal not in space.goals:
        raise RunError(f"reward {reward.name}: the spec has no goal '{reward.goal}'")

    def f(prompts=None, completions=None, completion_ids=None, **columns) -> list[float]:
        if completions is None:
            raise TypeError(f"reward {reward.name}: no completions given")
        texts = [_completion_text(c) for c in completions]
        source, target = _request_columns(space.goals, columns, len(texts), reward.name)
        return reward_values(reward, space.goals, source, target,
                             space.matrix(texts)).tolist()

    f.__name__ = f.__qualname__ = reward.name
    f.weight = reward.weight
    f.reward = reward
    return f


def _completion_text(completion) -> str:
    """A completion as text: a string, or conversational messages (the assistant's turn)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return completion.get("content") or ""
    return "".join((m.get("content") or "") for m in completion
                   if m.get("role", "assistant") == "assistant")


def _request_columns(goals: list[str], columns: dict, n: int,
                     name: str) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for g in goals for c in (f"source_{g}", f"target_{g}") if c not in columns]
    if missing:
        raise RunError(f"reward {name} needs the training set's columns {', '.join(missing)} "
                       "(steerdsl.train.dataset.training_set and `steerdsl export-train` "
                       "write them)")
    source = np.column_stack([_floats(columns[f"source_{g}"]) for g in goals])
    target = np.column_stack([_floats(columns[f"target_{g}"]) for g in goals])
    if len(source) != n:
        raise RunError(f"reward {name}: {len(source)} dataset rows for {n} completions")
    return source, target


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def worst_reward(reward: RewardPlan, d: int) -> float:
    """The reward of an answer some goal could not measure: the worst the reward can be
    (miscalibration, unbounded above, gets -1: the value of not moving at all)."""
    if reward.metric == "steering_error":
        return -float(d) if reward.squared else -float(np.sqrt(d))
    return -1.0


def reward_values(reward: RewardPlan, goals: Sequence[str], source: np.ndarray,
                  target: np.ndarray, output: np.ndarray) -> np.ndarray:
    """The reward of each answer: (n, d) normalized source, target (NaN: the source) and
    output values, goals in `goals` order. Never NaN (see worst_reward)."""
    z0, zh = np.asarray(source, float), np.asarray(output, float)
    zs = np.where(np.isnan(target), z0, target)  # z*
    if reward.metric == "error":
        j = list(goals).index(reward.goal)
        value = -_shaped_errors(np.abs(zs[:, j] - zh[:, j]), reward)
        bad = np.isnan(zs[:, j]) | np.isnan(zh[:, j])
    else:
        a, r, m = zs - zh, zs - z0, zh - z0
        if reward.metric == "steering_error":
            squares = (_shaped_errors(np.abs(a), reward) ** 2).sum(axis=1)
            value = -(squares if reward.squared else np.sqrt(squares))
        elif reward.metric == "miscalibration":
            value = -miscalibration(a, r)
        elif reward.metric == "orthogonality":
            value = -orthogonality(a, r, m)
        else:
            raise RunError(f"unknown reward metric {reward.metric!r}")
        bad = np.isnan(a).any(axis=1) | np.isnan(r).any(axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(bad, worst_reward(reward, zs.shape[1]), value)


def _shaped_errors(e: np.ndarray, reward: RewardPlan) -> np.ndarray:
    """Per-goal errors with the reference's options: below `good_enough` an error counts as
    good_enough; `decile` rounds up to the next tenth."""
    if reward.good_enough is not None:
        e = np.clip(e, reward.good_enough, None)
    if reward.decile:
        # rounded to 1e-9 tenths first: 0.8 - 0.5 is 0.30000000000000004, a tenth of 0.3
        e = np.clip(np.ceil(np.round(e * 10, 9)) / 10, 0, 1)
    return e


def miscalibration(a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """|a.r| / (||r|| + eps)^2 per row."""
    return np.abs((a * r).sum(axis=1)) / (np.sqrt((r * r).sum(axis=1)) + EPS) ** 2


def orthogonality(a: np.ndarray, r: np.ndarray, m: np.ndarray) -> np.ndarray:
    """clip(rej(a, r) / (||m|| + 1e-4 (||r|| + eps)), 0, 1) per row; the rejection summed goal
    by goal, as the metrics view does (expanding it into dot products cancels small values)."""
    rr = (r * r).sum(axis=1)
    projection = (a * r).sum(axis=1) / (rr + EPS)
    rej = np.sqrt(((a - projection[:, None] * r) ** 2).sum(axis=1))
    denominator = np.sqrt((m * m).sum(axis=1)) + ORTH_EPS * (np.sqrt(rr) + EPS)
    return np.clip(rej / denominator, 0, 1)


def reward_plans(plan: Plan, names: Sequence[str] | None = None,
                 intervention: str | None = None) -> list[RewardPlan]:
    """The rewards a caller asks for by name ("steering_error", "miscalibration",
    "orthogonality", "error_<goal>"), each with default options; or, for a fine-tune
    `intervention`, its declared rewards with their options and weights (`names` picks among
    them). Neither: steering_error."""
    from steerdsl.lang.suggest import closest

    declared: dict[str, RewardPlan] = {}
    if intervention is not None:
        iv = intervention_of(plan, intervention)
        if iv.kind == "finetune":
            declared = {r.name: r for r in iv.train.rewards}
    if names is None:
        return list(declared.values()) or [RewardPlan(metric="steering_error")]
    available = declared or {
        **{m: RewardPlan(metric=m) for m in ("steering_error", "miscalibration",
                                             "orthogonality")},
        **{f"error_{g.name}": RewardPlan(metric="error", goal=g.name) for g in plan.goals}}
    out = []
    for name in names:
        if name not in available:
            hint = closest(name, available)
            raise RunError(f"unknown reward '{name}'"
                           + (f" (did you mean '{hint}'?)" if hint else "")
                           + f"; the rewards: {', '.join(available)}")
        out.append(available[name])
    return out
