"""kill -9 of `steerdsl run` while closed-loop feedback revises answers, then a rerun: no
stored round of any conversation is requested again (a kill loses at most the rounds answered
in the last half second, not yet written), and the store ends as an uninterrupted run's."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import Counter

import steerdsl
from steerdsl.run.runner import run_plan
from support import feedback_rewriter
from support.crash import kill_9_when, steerdsl_run, stored_rows
from support.fake_openai import FakeOpenAI, Reply, Request
from support.feedback_specs import conversation_key, round_of, write_spec

REVISION_DELAY = 0.15  # server seconds per revision: with concurrency 4, a round takes ~1 s


def slow_revisions(request: Request) -> Reply:
    reply = feedback_rewriter.default(request)
    if round_of(request.body) == 0:
        return reply
    return dataclasses.replace(reply, delay=REVISION_DELAY)


def rounds(store) -> list[tuple]:
    return stored_rows(store, "SELECT row_id, sample, round, status, prompt, answer "
                              "FROM feedback_rounds ORDER BY ALL")


def stored_keys(store) -> set[tuple[str, int]]:
    """(probe prompt, round) of every stored round: conversation_key of its request."""
    rows = rounds(store)
    first = {(r[0], r[1]): r[4] for r in rows if r[2] == 0}
    return {(first[(r[0], r[1])], r[2]) for r in rows if r[3] == "ok"}


def run_and_kill(spec, server, wait_s: float) -> None:
    """Start `steerdsl run`; kill -9 it `wait_s` after its first revision request."""
    seen = server.count()
    kill_9_when(steerdsl_run(spec),
                lambda: any(round_of(r.body) > 0 for r in server.requests()[seen:]), wait_s)


def test_kill_9_between_and_during_rounds_then_resume(tmp_path):
    with FakeOpenAI(default=slow_revisions) as server:
        spec = write_spec(tmp_path, server.url, store="ref.duckdb", rounds=3,
                          interventions="loop")
        assert run_plan(steerdsl.load(spec).plan(), quiet=True).status == "ok"
        reference = rounds(tmp_path / "ref.duckdb")
        assert {r[2] for r in reference} == {0, 1, 2, 3}
        server.clear()

        spec = write_spec(tmp_path, server.url, store="crash.duckdb", rounds=3,
                          interventions="loop")
        store = tmp_path / "crash.duckdb"
        stored: set[tuple[str, int]] = set()
        for wait_s in (0.6, 1.8):  # during round 1; in or between later rounds
            seen = server.count()
            run_and_kill(spec, server, wait_s)
            asked = Counter(conversation_key(r.body) for r in server.requests()[seen:])
            assert not set(asked) & stored  # stored rounds are never asked again
            assert max(asked.values()) == 1
            stored = stored_keys(store)
        assert 0 < len(stored) < len(reference)  # the kills cut the loop short
        assert any(k[1] > 0 for k in stored)  # revisions were stored before a kill

        seen = server.count()
        proc = subprocess.run([sys.executable, "-m", "steerdsl.cli", "run", str(spec), "-q"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        asked = Counter(conversation_key(r.body) for r in server.requests()[seen:])
        assert not set(asked) & stored and max(asked.values()) == 1
        assert set(asked) | stored == stored_keys(store)  # exactly the rounds missing
        assert rounds(store) == reference
