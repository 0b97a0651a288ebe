"""Calibrated requests on the built-in local model (SmolLM2 via llama.cpp): a small end-to-end
run fits, asks calibrated requests and scores them."""

from __future__ import annotations

import json

import pytest

import steerdsl
from steerdsl.run.runner import run_plan
from steerdsl.store.db import open_store

pytestmark = pytest.mark.local_model

SPEC = """
experiment local_cal {
  seed 2
  store "run.duckdb"
}
corpus c { read "corpus.jsonl" text "text" }
goals {
  length = char_count normalize 0..400
}
probe eval from c {
  sources 3 unweighted
  requests 1 per source
  active 1
}
probe fit from c {
  sources 4 unweighted
  requests 2 per source
  active 1
  exclude eval
}
model tiny {
  local "smollm2"
  temperature 0
  max_tokens 48
  concurrency 2
}
intervention calibrated { prompt direct  calibrate on fit }
evaluate { probe eval  models tiny  interventions calibrated }
"""


def test_a_small_calibrated_run_on_the_local_model(tmp_path):
    with open(tmp_path / "corpus.jsonl", "w") as f:
        for i in range(8):
            f.write(json.dumps({"text": f"Note {i}. The committee met on a rainy Tuesday to "
                                        "talk about the new library budget and the roof."
                                        + " It was long." * (i % 4)}) + "\n")
    spec = tmp_path / "cal.steer"
    spec.write_text(SPEC)
    result = run_plan(steerdsl.load(spec).plan(), quiet=True)
    assert result.status == "ok", result
    con = open_store(tmp_path / "run.duckdb")
    try:
        fits = con.execute("SELECT count(*), count(DISTINCT direction) FROM calibration "
                           "WHERE goal = 'length'").fetchone()
        observed = con.execute("SELECT count(*) FROM calibration_observations "
                               "WHERE requested IS NOT NULL").fetchone()[0]
        asked = con.execute("SELECT row_id, words FROM calibrated_requests "
                            "ORDER BY row_id").fetchall()
        prompts = dict(con.execute(
            "SELECT c.row_id, c.prompt FROM calls c JOIN generations g USING (gen_hash) "
            "WHERE g.intervention = 'calibrated'").fetchall())
        scored = con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    finally:
        con.close()
    assert fits == (6, 2) and observed == 8  # 3 buckets each way; 8 calibration answers
    assert len(asked) == 3 and scored == 3
    for row_id, words in asked:
        assert f"make it {words}." in prompts[row_id]
