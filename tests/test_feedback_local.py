"""Closed-loop feedback end to end with the built-in local model (SmolLM2-135M): a small run
(4 rows, 48 tokens) asks for revisions in the same conversation, stores every round and
scores the last. Select with `-m local_model`."""

from __future__ import annotations

import json

import pytest

import steerdsl
from steerdsl.run.runner import run_plan
from steerdsl.store.db import open_store

pytestmark = pytest.mark.local_model

SPEC = """
experiment tiny_loop { seed 11  store "loop.duckdb" }
corpus c { read "c.jsonl" text "text" }
goals {
  length = word_count normalize 0..80
  chars = char_count normalize 0..400
}
probe p from c { sources 2 unweighted  requests 2 per source  active 1  delta -0.6..0.6 }
model tiny { local "smollm2"  temperature 0  max_tokens 48  concurrency 2 }
intervention loop { prompt direct  feedback 1 rounds }
evaluate { probe p  models tiny  interventions loop }
"""


def test_feedback_with_the_local_model(tmp_path):
    texts = ["The committee met on a rainy Tuesday to talk about the new library hours.",
             "Our garden grew tomatoes, beans and far too many zucchini this summer.",
             "The train was late again, so we walked to the harbour and watched the boats."]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    (tmp_path / "loop.steer").write_text(SPEC)
    plan = steerdsl.load(tmp_path / "loop.steer").plan()
    assert run_plan(plan, quiet=True).status == "ok"
    con = open_store(tmp_path / "loop.duckdb", read_only=True)
    try:
        rounds = con.execute("SELECT round, status, count(*) FROM feedback_rounds "
                             "GROUP BY ALL ORDER BY ALL").fetchall()
        assert rounds[0] == (0, "ok", 4)
        assert all(status == "ok" for _, status, _ in rounds)
        revised = dict((r, n) for r, _, n in rounds).get(1, 0)
        # a revision answers the feedback message in the same conversation
        for prompt, answer in con.execute("SELECT prompt, answer FROM feedback_rounds "
                                          "WHERE round = 1").fetchall():
            assert prompt.startswith("Your rewrite did not change the text as asked.")
            assert answer
        assert con.execute("SELECT count(*) FROM feedback_metrics").fetchone()[0] == 8
        assert con.execute("SELECT count(*) FROM metrics WHERE steering_error IS NOT NULL"
                           ).fetchone()[0] == 4
        calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
        assert calls == 4 and revised <= 4
    finally:
        con.close()
    # a rerun asks for nothing: every stage is done
    again = run_plan(plan, quiet=True)
    assert again.status == "ok" and "generate:tiny/loop" in again.stages_skipped
