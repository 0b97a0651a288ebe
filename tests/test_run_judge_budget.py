"""One budget for everything a run pays: a judged goal's requests are charged with the
generation's and stored in judge_calls; the budget stops the run in the measure stage, and the
next run judges only what was left. A real `steerdsl run` against the loopback server."""

from __future__ import annotations

import json
from pathlib import Path

from support.fake_openai import FakeOpenAI, Reply
from support.stores import read_rows
from test_budget_price import steerdsl_cli

SPEC = """\
experiment judged {{
  seed 5
  store "judged.duckdb"
  budget {budget}
}}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  length = char_count normalize 0..400
  polite = judge fake rubric "How polite is this text, from 0 to 10?" scale 0..10
}}
probe p from c {{ sources 6 unweighted  requests 1 per source  active 1  goals length }}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  concurrency 1{price}
}}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models fake  interventions direct }}
"""


def write_spec(folder: Path, url: str, budget: str,
               price: str = "\n  price in 100 out 100") -> Path:
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(6):
            f.write(json.dumps({"text": f"Note {i}. The committee met on a rainy day."}) + "\n")
    spec = folder / "judged.steer"
    spec.write_text(SPEC.format(url=url, budget=budget, price=price), encoding="utf-8")
    return spec


def test_judged_goals_count_toward_the_budget_and_resume(tmp_path):
    db = tmp_path / "judged.duckdb"
    with FakeOpenAI(default=Reply.ok("7")) as server:
        # 100 USD per million tokens, a few dozen tokens a judge request: the third or so
        # request passes 0.005 USD, in the measure stage, before anything is generated.
        r = steerdsl_cli("run", str(write_spec(tmp_path, server.url, "0.005")))
        assert r.returncode == 1, r.stderr
        assert r.stderr.splitlines()[-1].startswith("budget $0.0050 reached: spent $0.00")
        judged = read_rows(db, "SELECT count(*), sum(cost) FROM judge_calls")[0]
        assert judged[0] == server.count() < 6 and judged[1] >= 0.005
        assert read_rows(db, "SELECT count(*) FROM calls") == [(0,)]
        assert read_rows(db, "SELECT status FROM runs") == [("budget",)]
        # Texts left unjudged are not cached as failures, and the stage is not done.
        assert read_rows(db, "SELECT count(*) FROM measurements WHERE error IS NOT NULL") \
            == [(0,)]
        assert read_rows(db, "SELECT stage FROM stages_done WHERE stage = 'measure:c'") == []
        first = server.count()

        r = steerdsl_cli("run", str(write_spec(tmp_path, server.url, "5")))
        assert r.returncode == 0, r.stderr
        # The rest of the corpus is judged, then the 6 answers are generated and judged: they
        # are all "7", one text, judged once (the cache is by text).
        assert server.count() - first == (6 - first) + 6 + 1
        assert read_rows(db, "SELECT count(*) FROM judge_calls") == [(7,)]
        paid = read_rows(db, "SELECT (SELECT sum(cost) FROM judge_calls), "
                             "(SELECT sum(cost) FROM calls)")[0]
        assert all(p > 0 for p in paid)


def test_a_judge_model_without_a_price_is_named_at_the_start(tmp_path):
    # Judging the corpus is the first thing a run pays for: the warning comes before it.
    r = steerdsl_cli("run", str(write_spec(tmp_path, "http://127.0.0.1:9/v1", "5", price="")),
                     "--until", "corpus", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        "budget $5.00: model fake has no known price; its calls count as $0. Declare "
        "`price in X out Y` (US dollars per million input and output tokens) in its model "
        "block"]
