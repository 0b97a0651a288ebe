"""Honest runs (issue 10, items 1, 4, 5): a dead server fails the run quickly and says so;
failed calls make a run `incomplete` with the reasons; timeouts caused by queueing are named.
Real HTTP to the loopback server (support.fake_openai), real DuckDB files, `steerdsl run` as a
subprocess where the exit code and messages are what is tested."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from steerdsl.stages.generate.engine import run_generate
from steerdsl.store.db import open_store
from support.fake_openai import FakeOpenAI, Reply, unused_port
from support.gen_plans import fake_model, intervention, make_plan, make_rows

ROWS = 8  # sources 4 x requests 2

SPEC = """
experiment honest {{ seed 5  store "out.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{ length = char_count normalize 0..400 }}
probe p from c {{ sources 4 unweighted  requests 2 per source  active 1 }}
model dead {{ litellm "openai/fake"  api_base "{dead}"  concurrency {concurrency}  retries 5 }}
model alive {{ litellm "openai/fake"  api_base "{alive}"  concurrency 2  retries 5 }}
intervention direct {{ prompt direct }}
intervention neg {{ prompt direct negative }}
evaluate {{ probe p  models {models}  interventions direct, neg }}
"""


def write_spec(folder: Path, dead: str, alive: str, models: str = "dead, alive",
               concurrency: int = 2) -> Path:
    with open(folder / "corpus.jsonl", "w") as f:
        for i in range(6):
            f.write(json.dumps({"text": f"Note {i}. " + "The committee met to talk. " * (i + 1)})
                    + "\n")
    spec = folder / "honest.steer"
    spec.write_text(SPEC.format(dead=dead, alive=alive, models=models, concurrency=concurrency))
    return spec


def steerdsl_run(spec: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "steerdsl.cli", "run", str(spec), "-q", *args],
                          cwd=spec.parent, env=env, capture_output=True, text=True,
                          timeout=timeout)


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def dies_after(answers: int):
    """A default reply: `answers` ok answers, then the server dies (port closed)."""
    lock = threading.Lock()
    seen = [0]

    def reply(request) -> Reply:
        with lock:
            seen[0] += 1
            return Reply.ok() if seen[0] <= answers else Reply.die()

    return reply


def test_dead_server_fails_the_run_fast_and_other_models_finish(tmp_path):
    with FakeOpenAI(default=dies_after(3)) as dead, FakeOpenAI() as alive:
        spec = write_spec(tmp_path, dead.url, alive.url, concurrency=1)
        proc = steerdsl_run(spec)
        assert dead.killed
        answered = [r.prompt for r in dead.requests() if r.reply == "ok"]
        assert len(answered) == 3 and len(dead.requests()) == 4  # the 4th killed it
        alive_prompts = alive.count()
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert f"model dead: 5 requests in a row could not connect to {dead.url}" in err
    assert "ConnectionRefusedError" in err  # what happened, from the exception chain
    assert ("stopped sending to it: its remaining generate stages are not run. "
            "Check that the server is running and the model's api_base is right, then rerun "
            "the same command: answers stored so far are kept.") in err
    assert err.count("model dead: ") == 1  # said once
    assert err.rstrip().endswith("run failed: could not connect to model dead (see above); "
                                 "everything answered so far is stored")
    assert "Traceback" not in err

    db = tmp_path / "out.duckdb"
    assert rows(db, "SELECT status FROM runs") == [("failed",)]
    # The answers of the dead server stay; the rest of its stage is missing, not errors.
    stored = rows(db, "SELECT c.prompt, c.status FROM calls c JOIN generations g "
                      "USING (gen_hash) WHERE g.model = 'dead' ORDER BY c.row_id")
    assert sorted(p for p, _ in stored) == sorted(answered)
    assert {s for _, s in stored} == {"ok"}
    # Its second intervention was never started; the other model did everything.
    assert rows(db, "SELECT count(*) FROM generations WHERE model = 'dead'") == [(1,)]
    assert alive_prompts == 2 * ROWS
    assert rows(db, "SELECT intervention, count(*) FROM metrics WHERE model = 'alive' "
                    "GROUP BY ALL ORDER BY 1") == [("direct", ROWS), ("neg", ROWS)]
    done = {r[0] for r in rows(db, "SELECT stage FROM stages_done")}
    assert {"generate:alive/direct", "generate:alive/neg", "score:alive/direct",
            "score:alive/neg"} <= done
    assert not {s for s in done if "dead" in s}
    # The answers it gave are scored all the same (no request to it needed).
    assert rows(db, "SELECT intervention, count(*) FROM metrics WHERE model = 'dead' "
                    "GROUP BY ALL") == [("direct", 3)]

    # Once the server is back, the same command continues and asks only what is missing.
    port = int(dead.url.rsplit(":", 1)[1].split("/")[0])
    with FakeOpenAI(port=port) as back:
        proc = steerdsl_run(spec)
        assert proc.returncode == 0, proc.stderr
        assert back.count() == 2 * ROWS - 3
    assert rows(db, "SELECT status FROM runs ORDER BY started_at") == [("failed",), ("ok",)]


def test_dead_server_requests_after_death_are_bounded(tmp_path):
    """In process, to count every connection attempt: with concurrency 4 and retries 5, 40
    rows against a refused port would be 240 attempts; the breaker stops after a few."""
    model = fake_model(f"http://127.0.0.1:{unused_port()}/v1", concurrency=4, retries=5)
    plan = make_plan([model], [intervention()])
    stage = plan.stage("generate:fake/direct")
    con = open_store(tmp_path / "s.duckdb")
    try:
        stats = run_generate(con, plan, stage, make_rows(40), retry_base_s=0.5)
        assert stats.unreachable is not None
        m = re.match(r"model fake: (\d+) requests in a row could not connect to (\S+) ",
                     stats.unreachable)
        assert m and m.group(2) == model.api_base
        # every attempt failed to connect; 4 workers pausing 0.25-0.75 s, then 0.5-1.5 s ...
        assert 5 <= int(m.group(1)) == stats.requests <= 24
        assert stats.seconds < 20
        assert con.execute("SELECT count(*) FROM calls").fetchone() == (0,)
    finally:
        con.close()


def test_failed_calls_make_the_run_incomplete_with_reasons(tmp_path):
    with FakeOpenAI() as server:
        spec = write_spec(tmp_path, server.url, server.url, models="alive")
        assert steerdsl_run(spec, "--until", "probe").returncode == 0
        db = tmp_path / "out.duckdb"
        (source,) = rows(db, "SELECT t.text FROM probe_rows r JOIN texts t USING (text_hash) "
                             "ORDER BY r.row_id LIMIT 1")[0]
        # Both rows of one source are refused (400: not retried) in both interventions.
        server.default = lambda r: Reply.error(400) if source in r.prompt else Reply.ok()
        proc = steerdsl_run(spec)
        assert server.count(source) == 4
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    for stage in ("direct", "neg"):
        assert (f"generate:alive/{stage}: 2 of {ROWS} calls failed (stored as errors):\n"
                '  2 request refused (4xx) (not retried), e.g. "BadRequestError: litellm.'
                "BadRequestError: OpenAIException - fake error 400\": retrying won't help: "
                "the request itself is wrong; change what the message names (model name, a "
                "sampling setting) in the spec\n") in err
    assert "after retries" not in err
    assert err.rstrip().endswith("run incomplete: 4 calls failed (see above); everything "
                                 "answered so far is stored")
    assert rows(db, "SELECT status FROM runs ORDER BY started_at") == [("ok",), ("incomplete",)]
    assert rows(db, "SELECT DISTINCT error_kind, attempts FROM calls WHERE status = 'error'") == [
        ("fatal", 1)]


SINGLE_SLOT_SPEC = """
experiment slow {{ seed 5  store "slow.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{ length = char_count normalize 0..400 }}
probe p from c {{ sources 4 unweighted  requests 4 per source  active 1 }}
model tiny {{ litellm "openai/fake"  api_base "{url}"  concurrency {concurrency}
              timeout {timeout}  retries 0 }}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models tiny  interventions direct }}
"""

WARNING = re.compile(
    r"generate:tiny/direct: (\d+) of (\d+) requests to tiny timed out at concurrency 8 "
    r"\(timeout 1s\); a server that answers one request at a time queues them: lower the "
    r"model's `concurrency` or raise its `timeout`\n")


def test_queueing_timeouts_are_named_and_latency_is_split(tmp_path, capsys):
    """A server working on one request at a time (0.4 s each) and 8 requests in flight with
    a 1 s timeout: most requests time out while they wait in the server's queue."""
    from steerdsl.cli import main

    write_spec(tmp_path, "unused", "unused")  # the corpus
    spec = tmp_path / "slow.steer"
    db = tmp_path / "slow.duckdb"
    with FakeOpenAI(default=Reply.ok(delay=0.4), slots=1, timings=True) as server:
        spec.write_text(SINGLE_SLOT_SPEC.format(url=server.url, concurrency=8, timeout=1))
        assert main(["run", str(spec), "-q"]) == 1
        err = capsys.readouterr().err
        m = WARNING.search(err)
        assert m, err
        timed_out, sent = int(m.group(1)), int(m.group(2))
        assert sent == 16 and timed_out > 8
        assert rows(db, "SELECT count(*) FROM calls WHERE error_kind = 'timeout'") == [
            (timed_out,)]
        # The answers that came back: the server spent 0.405 s on each; the rest of their
        # latency was spent waiting for the slot.
        ok = rows(db, "SELECT server_s, latency_s FROM calls WHERE status = 'ok' "
                      "ORDER BY latency_s")
        assert ok and all(s == pytest.approx(0.405) for s, _ in ok)
        assert all(lat >= s for s, lat in ok)
        if len(ok) > 1:
            assert ok[-1][1] - ok[-1][0] >= 0.3  # queued behind at least one other

        # One request at a time with a long enough timeout: every call answered, no warning.
        spec.write_text(SINGLE_SLOT_SPEC.format(url=server.url, concurrency=1, timeout=5))
        assert main(["run", str(spec), "-q", "--retry-errors"]) == 0
        err = capsys.readouterr().err
        assert "timed out" not in err
    assert rows(db, "SELECT status, count(*) FROM calls GROUP BY ALL") == [("ok", 16)]
    assert rows(db, "SELECT status FROM runs ORDER BY started_at") == [("incomplete",), ("ok",)]


KEYED_SPEC = """
experiment keyed {{ seed 5  store "keyed.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{ length = char_count normalize 0..400 }}
probe p from c {{ sources 4 unweighted  requests 1 per source  active 1 }}
model good {{ litellm "openai/fake"  api_base "{url}" }}
model keyed {{ litellm "openai/fake"  api_base "{url}"  api_key env STEER_HONEST_KEY }}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models good, keyed  interventions direct }}
"""


@pytest.mark.parametrize("key, what", [
    ("sk-abc123\n", "a line break at character 10 of 10"),
    ("sk-abc\r\n123", "a carriage return at character 7 of 11"),
    ("sk-äbc123", "a non-ASCII character at character 4 of 9"),
    ("sk abc123", "a space at character 3 of 9"),
], ids=["newline", "crlf", "non-ascii", "space"])
def test_malformed_key_is_named_at_the_start_and_nothing_is_sent(tmp_path, capsys, monkeypatch,
                                                                 key, what):
    from steerdsl.cli import main

    write_spec(tmp_path, "unused", "unused")  # the corpus
    monkeypatch.setenv("STEER_HONEST_KEY", key)
    with FakeOpenAI() as server:
        spec = tmp_path / "keyed.steer"
        spec.write_text(KEYED_SPEC.format(url=server.url))
        assert main(["run", str(spec), "-q"]) == 1
        assert server.count() == 0  # not even for the model whose key is fine
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: model keyed: the environment variable STEER_HONEST_KEY (its API key) is "
        f"malformed: it holds {what}; an API key is printable ASCII without spaces or line "
        "breaks (check what was copied with it)")
    assert key.strip() not in err and "abc123" not in err
    assert rows(tmp_path / "keyed.duckdb", "SELECT status FROM runs") == [("failed",)]
