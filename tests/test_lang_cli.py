"""`steerdsl check` and `steerdsl compile` as the user runs them: a subprocess each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from steerdsl.plan.model import Plan

REPO = Path(__file__).resolve().parent.parent
STEERDSL = Path(sys.executable).parent / "steerdsl"

SPEC = '''\
experiment cli {
  seed 3
  store "cli.duckdb"
}
corpus c { read "c.jsonl" }
goals { length = char_count normalize 0..100 }
probe p from c { sources 1 requests 2 per source active 1 }
model m { litellm "openai/m" api_base "http://127.0.0.1:9/v1" }
intervention i { prompt direct }
evaluate { probe p models m interventions i }
'''


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([str(STEERDSL), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


@pytest.fixture
def spec(tmp_path) -> Path:
    (tmp_path / "c.jsonl").write_text('{"text": "a b c"}\n{"text": "d e"}\n', encoding="utf-8")
    path = tmp_path / "cli.steer"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_check_ok(spec):
    r = cli("check", str(spec))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == f"ok: {spec}: 1 goal, 1 corpus, 1 probe, 1 model, 1 intervention\n"


def test_check_reports_every_error_with_place_and_caret(spec, tmp_path):
    spec.write_text(SPEC.replace("sources 1", "sources 1.5").replace("models m", "models mm")
                    .replace('litellm "openai/m"', 'litellm "openai/m" temprature 1'),
                    encoding="utf-8")
    r = cli("check", "cli.steer", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "cli.steer:7:26: error: 'sources' takes a whole number, got 1.5",
        "  probe p from c { sources 1.5 requests 2 per source active 1 }",
        "                           ^^^",
        "cli.steer:8:30: error: unknown setting 'temprature' in model block (settings here: "
        "api_base, api_key, batch, concurrency, deployment, hf, litellm, local, max_tokens, "
        "min_p, price, retries, route, rpm, temperature, timeout, top_p, tpm, truncated); did "
        "you mean 'temperature'?",
        '  model m { litellm "openai/m" temprature 1 api_base "http://127.0.0.1:9/v1" }',
        "                               ^^^^^^^^^^",
        "cli.steer:10:27: error: unknown model 'mm'",
        "  evaluate { probe p models mm interventions i }",
        "                            ^^",
        "3 errors",
    ]


def test_check_of_a_missing_file_is_a_spec_error(tmp_path):
    r = cli("check", str(tmp_path / "nope.steer"))
    assert r.returncode == 2
    assert r.stderr == f"{tmp_path / 'nope.steer'}:1:1: error: cannot read the spec: " \
        "No such file or directory\n1 error\n"


def test_compile_json_is_the_plan(spec):
    r = cli("compile", str(spec), "--json")
    assert r.returncode == 0, r.stderr
    plan = Plan.model_validate_json(r.stdout)
    assert plan.experiment.store == str(spec.parent / "cli.duckdb")
    assert [s.id for s in plan.stages] == ["corpus:c", "measure:c", "space", "probe:p",
                                           "generate:m/i", "score:m/i"]
    assert json.loads(r.stdout)["probes"][0]["seed"] == plan.probes[0].seed


def test_compile_shows_stages_counts_and_what_is_done(spec):
    r = cli("compile", str(spec))
    assert r.returncode == 0, r.stderr
    plan = Plan.model_validate_json(cli("compile", str(spec), "--json").stdout)
    lines = r.stdout.splitlines()
    assert lines[0] == f"plan {plan.spec_hash} for {spec}"
    assert lines[1] == f"experiment cli: seed 3, store {spec.parent / 'cli.duckdb'}"
    probe = plan.stage("probe:p")
    assert f"  probe:p       {probe.hash}  todo     <- space, measure:c; rows 2, goals 1" in lines
    assert lines[-2:] == ["totals: texts 2, measurements 2, probe_rows 2, requests 2, "
                          f"samples 2, prompt_tokens_est {plan.totals['prompt_tokens_est']}",
                          "0 of 6 stages done"]

    # A store that finished the corpus and probe stages (by their hashes).
    from steerdsl.store.db import open_store

    con = open_store(spec.parent / "cli.duckdb")
    for sid in ("corpus:c", "probe:p"):
        con.execute("INSERT INTO stages_done (stage_hash, stage) VALUES (?, ?)",
                    [plan.stage(sid).hash, sid])
    con.close()
    r = cli("compile", str(spec))
    assert r.returncode == 0, r.stderr
    assert f"  probe:p       {probe.hash}  done     <- space, measure:c; rows 2, goals 1" \
        in r.stdout.splitlines()
    assert r.stdout.splitlines()[-1] == "2 of 6 stages done"


def test_compile_counts_requests_and_answers_from_the_store(spec):
    # best-of-4 on an endpoint that an earlier run saw ignoring n, with a generate stage cut
    # short: 5 of its 8 answers stored, 1 failed
    spec.write_text(SPEC.replace("{ prompt direct }", "{ prompt direct sample 4 temperature 1 }"),
                    encoding="utf-8")
    plan = Plan.model_validate_json(cli("compile", str(spec), "--json").stdout)
    gen = plan.stage("generate:m/i")
    assert (gen.counts["requests"], gen.counts["samples"]) == (2, 8)
    before = cli("compile", str(spec)).stdout.splitlines()
    assert f"requests 2, samples 8, prompt_tokens_est {plan.totals['prompt_tokens_est']}" \
        in before[-2]

    from steerdsl.store.db import open_store

    con = open_store(spec.parent / "cli.duckdb")
    con.execute("INSERT INTO model_capabilities VALUES "
                "('openai/m @ http://127.0.0.1:9/v1', 'n', false, now())")
    con.executemany("INSERT INTO calls (gen_hash, row_id, sample, status) VALUES (?, ?, ?, ?)",
                    [(gen.hash, r, s, "error" if (r, s) == (1, 3) else "ok")
                     for r, s in [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 3)]])
    con.close()
    r = cli("compile", str(spec))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    est = gen.counts["prompt_tokens_est"]
    assert (f"  generate:m/i  {gen.hash}  partial  <- probe:p; requests 8, samples 8, "
            f"prompt_tokens_est {est:,}; 5 of 8 answers stored, 1 failed") in lines
    assert lines[-3:] == [
        "totals: texts 2, measurements 2, probe_rows 2, requests 8, samples 8, "
        f"prompt_tokens_est {plan.totals['prompt_tokens_est']}",
        "0 of 6 stages done",
        "note: openai/m @ http://127.0.0.1:9/v1 answers one sample per request (it ignored n "
        "in an earlier run): requests = samples"]


HEAVY = ("litellm", "spacy", "textstat", "duckdb", "llama_cpp", "numpy", "httpx")


def test_compile_imports_nothing_heavy(spec):
    code = (
        "import sys, io, contextlib\n"
        "from steerdsl.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    rc = main(['compile', {str(spec)!r}])\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.stdout.strip() == "0 []", r.stderr


def test_import_steerdsl_is_light():
    code = "import sys, steerdsl; print(sorted(m for m in ('pydantic', 'lark') if m in " \
           "sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "[]", r.stderr


@pytest.mark.parametrize("name", ["paper", "quickstart", "custom_goals", "custom_prompt",
                                  "best_of_n", "finetune"])
def test_example_specs_compile(name):
    if not (REPO / "data" / "demo" / "corpus.jsonl").is_file():
        pytest.skip("the demo corpus is not there yet")
    r = cli("compile", str(REPO / "specs" / f"{name}.steer"), "--json")
    assert r.returncode == 0, r.stderr
    assert Plan.model_validate_json(r.stdout).experiment.name == name


def test_compile_notes_a_probe_larger_than_its_corpus(spec):
    spec.write_text(SPEC.replace("sources 1", "sources 5"), encoding="utf-8")
    r = cli("compile", str(spec))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == \
        "note: probe p draws 5 sources but corpus c has 2 texts (before filters)"
