"""One model over several deployments (litellm's Router), over real HTTP on 127.0.0.1: every
request answered despite a failing, a dead and a rate-limiting server; the calls say which
deployment answered; keys scrubbed; deployments are in no hash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import steerdsl
from steerdsl.errors import RunError
from steerdsl.llm.keys import api_key_for
from steerdsl.plan.model import DeploymentPlan, ModelPlan
from steerdsl.stages.generate.engine import run_generate
from support.fake_openai import FakeOpenAI, Reply, default_answer, unused_port
from support.gen_plans import intervention, make_plan, make_rows

FAST = 0.01
SECRET = "sk-deploy-DO-NOT-PRINT"


def routed_model(*urls: str, keys: tuple[str | None, ...] = (), **kw) -> ModelPlan:
    keys = keys or (None,) * len(urls)
    deployments = [DeploymentPlan(api_base=u, api_key_env=k) for u, k in zip(urls, keys)]
    kw.setdefault("retries", 6)
    kw.setdefault("timeout", 5.0)
    return ModelPlan(name="routed", provider="litellm", model="openai/fake",
                     deployments=deployments, **kw)


def generate(con, model: ModelPlan, rows: int):
    plan = make_plan([model], [intervention()])
    stage = plan.stage(f"generate:{model.name}/direct")
    stats = run_generate(con, plan, stage, make_rows(rows), retry_base_s=FAST)
    got = con.execute("SELECT status, deployment, error, prompt, answer FROM calls "
                      "WHERE gen_hash = ? ORDER BY row_id", [stage.hash]).fetchall()
    return stats, got


def test_every_request_answered_by_the_working_deployment(con, monkeypatch):
    monkeypatch.setenv("KEY_OK", "sk-ok")
    monkeypatch.setenv("KEY_BAD", SECRET)
    with FakeOpenAI() as ok, FakeOpenAI(default=Reply.error(500, echo_key=True)) as bad, \
            FakeOpenAI(default=Reply.rate_limited(retry_after=5)) as limited:
        model = routed_model(ok.url, bad.url, limited.url, keys=("KEY_OK", "KEY_BAD", None),
                             concurrency=4)
        stats, got = generate(con, model, 40)
        assert (stats.ok, stats.errors) == (40, 0)
        assert {(status, deployment) for status, deployment, *_ in got} == {("ok", ok.url)}
        assert all(answer == default_answer(prompt, 0) for *_, prompt, answer in got)
        # A bad one is tried by the first requests in flight, then cooled down: the rest goes
        # to the good one.
        assert bad.count() <= 8 and limited.count() <= 8, (bad.count(), limited.count())
        assert ok.count() == 40
        assert {r.authorization for r in ok.requests()} == {"Bearer sk-ok"}


def test_a_dead_deployment_is_skipped(con):
    with FakeOpenAI() as a, FakeOpenAI() as b:
        dead = f"http://127.0.0.1:{unused_port()}/v1"
        stats, got = generate(con, routed_model(a.url, dead, b.url, route="least-busy"), 30)
        assert (stats.ok, stats.errors) == (30, 0)
        answered = {deployment for _, deployment, *_ in got}
        assert answered <= {a.url, b.url} and a.count() + b.count() == 30


def test_keys_of_deployments_are_scrubbed_from_errors(con, monkeypatch):
    monkeypatch.setenv("KEY_BAD", SECRET)
    with FakeOpenAI(default=Reply.error(400, echo_key=True)) as bad:
        stats, got = generate(con, routed_model(bad.url, keys=("KEY_BAD",)), 2)
        assert stats.errors == 2
        for status, deployment, error, *_ in got:
            assert status == "error" and deployment is None
            assert "***" in error and SECRET not in error


def test_a_missing_deployment_key_is_reported_before_any_request(monkeypatch):
    monkeypatch.delenv("KEY_NONE", raising=False)
    with pytest.raises(RunError, match="model routed: the environment variable KEY_NONE"):
        api_key_for(routed_model("http://127.0.0.1:9/v1", keys=("KEY_NONE",)))


MODEL = 'model m { litellm "openai/m" api_base "http://127.0.0.1:9/v1" }'


def _hashes(tmp_path: Path, model: str) -> dict[str, str]:
    spec = tmp_path / "s.steer"
    text = (Path(__file__).parent / "golden" / "specs" / "minimal.steer").read_text()
    spec.write_text(text.replace(MODEL, model), encoding="utf-8")
    return {s.id: s.hash for s in steerdsl.load(spec).plan().stages}


def test_deployments_and_route_are_in_no_hash(tmp_path):
    shutil.copytree(Path(__file__).parent / "golden" / "specs" / "data", tmp_path / "data")
    plain = _hashes(tmp_path, 'model m { litellm "openai/m" }')
    two = _hashes(tmp_path, 'model m { litellm "openai/m" deployment { api_base "http://a/v1" '
                            'api_key env KA rpm 5 } deployment { api_base "http://b/v1" } }')
    three = _hashes(tmp_path, 'model m { litellm "openai/m" route least_busy '
                              'deployment { api_base "http://a/v1" api_key env KA rpm 5 } '
                              'deployment { api_base "http://b/v1" } '
                              'deployment { api_base "http://c/v1" tpm 9000 } }')
    assert plain == two == three


def test_a_run_over_deployments_then_one_more_deployment_requests_nothing(tmp_path):
    from steerdsl.cli import main

    shutil.copytree(Path(__file__).parent / "golden" / "specs" / "data", tmp_path / "data")
    text = (Path(__file__).parent / "golden" / "specs" / "minimal.steer").read_text()
    spec = tmp_path / "s.steer"
    with FakeOpenAI() as a, FakeOpenAI() as b, FakeOpenAI() as c:
        def write(*urls: str) -> None:
            blocks = " ".join(f'deployment {{ api_base "{u}" }}' for u in urls)
            spec.write_text(text.replace(MODEL, f'model m {{ litellm "openai/m" {blocks} }}'),
                            encoding="utf-8")

        write(a.url, b.url)
        assert main(["run", str(spec), "-q"]) == 0
        sent = a.count() + b.count()
        assert sent == 4 and c.count() == 0
        write(a.url, b.url, c.url)
        assert main(["run", str(spec), "-q"]) == 0
        assert a.count() + b.count() + c.count() == sent  # nothing generated again
        store = steerdsl.load(spec).plan().experiment.store
    import duckdb

    with duckdb.connect(store, read_only=True) as con:
        rows = con.execute("SELECT status, deployment FROM calls").fetchall()
    assert len(rows) == 4 and {s for s, _ in rows} == {"ok"}
    assert {d for _, d in rows} <= {a.url, b.url}
