"""The training set of a drawn probe: prompts exactly as the generate stage sent them, source
and target vectors, sampling weights; the errors when the probe is not drawn yet."""

from __future__ import annotations

import json

import numpy as np
import pytest

import steerdsl
from steerdsl.errors import RunError
from steerdsl.store.db import open_store
from steerdsl.train.dataset import training_set


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from support.train_store import scored_store

    spec = scored_store(tmp_path_factory.mktemp("dataset"), sources=6)
    plan = steerdsl.load(spec).plan()
    con = open_store(plan.experiment.store)
    yield spec, plan, con
    con.close()


def test_prompts_are_the_generate_stages(scored):
    _, plan, con = scored
    for intervention in ("direct", "best"):
        sent = dict(con.execute(
            "SELECT DISTINCT c.row_id, c.prompt FROM calls c JOIN generations g USING "
            "(gen_hash) WHERE g.intervention = ?", [intervention]).fetchall())
        data = training_set(plan, con, "p", intervention)
        assert len(data) == len(sent) == 24
        assert [p[0]["content"] for p in data.columns["prompt"]] == \
            [sent[r] for r in data.columns["row_id"]]
        assert all(p[0]["role"] == "user" and len(p) == 1 for p in data.columns["prompt"])
    # no intervention: the built-in direct prompt with its defaults, as `direct` is declared
    default = training_set(plan, con, "p")
    assert default.columns["prompt"] == training_set(plan, con, "p", "direct").columns["prompt"]


def test_columns_follow_the_stored_probe(scored):
    _, plan, con = scored
    data = training_set(plan, con, "p")
    rows = con.execute("SELECT row_id, goal, source, delta, target FROM probe_goals "
                       "WHERE probe_hash = ? ORDER BY row_id, goal",
                       [plan.stage("probe:p").hash]).fetchall()
    for row_id, goal, source, delta, target in rows:
        assert data.columns[f"source_{goal}"][row_id] == source
        assert data.columns[f"delta_{goal}"][row_id] == delta
        assert data.columns[f"target_{goal}"][row_id] == (source if target is None else target)
    assert list(data.columns)[:4] == ["prompt", "row_id", "text_id", "source_text"]
    assert list(data.columns)[-1] == "weight"
    weights = np.array(data.columns["weight"])
    # density-ratio weights, scaled so an average usable source weighs 1; json-ready rows
    assert (weights > 0).all() and len(set(weights.round(12))) > 1
    assert json.loads(json.dumps(data.rows()[0]))["row_id"] == 0


def test_a_training_probe_prompted_as_its_fine_tune(scored):
    _, plan, con = scored
    train = training_set(plan, con, "t", "rl")
    evaluated = training_set(plan, con, "p")
    assert len(train) == 8
    assert all("You MUST" in p[0]["content"] for p in train.columns["prompt"])  # negative
    # `exclude p`: no source text in both
    assert not set(train.columns["source_text"]) & set(evaluated.columns["source_text"])


def test_an_undrawn_probe_or_unknown_names_are_clear_errors(scored, tmp_path):
    spec, plan, con = scored
    with pytest.raises(RunError, match="no probe 'q'"):
        training_set(plan, con, "q")
    with pytest.raises(RunError, match="no intervention 'rl2'; its interventions: direct, best, rl"):
        training_set(plan, con, "p", "rl2")
    empty = open_store(tmp_path / "empty.duckdb")
    try:
        with pytest.raises(RunError, match=r"probe p has not been drawn yet: run `steerdsl run "
                                           r".*exp.steer --until probe` first"):
            training_set(plan, empty, "p")
    finally:
        empty.close()
