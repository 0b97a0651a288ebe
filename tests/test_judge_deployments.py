"""Judges over deployments: judged goals' requests (judge_calls) and groundedness verdicts
(verdicts) say which deployment answered, like calls.deployment. Real runs against two
loopback OpenAI-compatible servers behind one judge model."""

from __future__ import annotations

from pathlib import Path

import steerdsl
from support import batch_specs
from support.batch_specs import JUDGE, MARK
from support.fake_openai import FakeOpenAI, Reply, default_answer
from support.stores import read_rows

MODELS = """model writer {{ litellm "openai/writer"  api_base "{writer}" }}
model referee {{
  litellm "openai/referee"
  deployment {{ api_base "{a}" }}
  deployment {{ api_base "{b}" }}
}}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models writer  interventions direct  grounding meaning }}
"""


def referee(request) -> Reply:
    """A verdict for groundedness questions, a score for judged goals."""
    if MARK in request.prompt:
        return Reply.ok('{"answer": "Yes", "rationale": "same"}')
    return Reply.ok("7")


def write_spec(folder: Path, writer: str, a: str, b: str) -> Path:
    body = MODELS.format(writer=writer, a=a, b=b) + JUDGE.format(model="referee")
    return batch_specs.write_spec(folder, "jd", body, judged_by="referee")


def test_judge_calls_and_verdicts_say_which_deployment_answered(tmp_path):
    with FakeOpenAI(default=lambda r: Reply.ok(default_answer(r.prompt, 0))) as writer, \
            FakeOpenAI(default=referee) as a, FakeOpenAI(default=referee) as b:
        spec = write_spec(tmp_path, writer.url, a.url, b.url)
        assert steerdsl.load(spec).run().status == "ok"
        db = tmp_path / "jd.duckdb"
        judged = read_rows(db, "SELECT deployment, count(*) FROM judge_calls GROUP BY ALL")
        assert {d for d, _ in judged} <= {a.url, b.url} and None not in {d for d, _ in judged}
        assert sum(n for _, n in judged) == a.count("polite") + b.count("polite") > 0
        grounded = read_rows(db, "SELECT deployment FROM verdicts")
        assert len(grounded) == 4 and {d for (d,) in grounded} <= {a.url, b.url}
        # The evaluated model has no deployments: its calls say none.
        assert read_rows(db, "SELECT DISTINCT deployment FROM calls") == [(None,)]
