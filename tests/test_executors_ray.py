"""Measuring on a real two-node Ray cluster on loopback (the `ray_cluster` fixture): a spec
run with --ray leaves the same store as a run on this machine, value for value; an actor
killed mid-stage loses only its chunk, which is sent again. Skipped without the ray extra."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from steerdsl.goals.measure import measure_texts
from steerdsl.store.db import open_store
from support.fake_openai import FakeOpenAI
from test_goals_measure import builtin

SPEC = """
experiment onray {{
  seed 5
  store "{store}"
}}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  reading_difficulty = flesch_kincaid_grade normalize 2.8..12.9
  formality = heylighen_dewaele normalize 40..70
  diversity = mtld normalize 0..200
  length = token_count normalize 0..400
  density = word_count / sentence_count normalize 0..40
}}
probe p from c {{
  sources 10 unweighted
  requests 3 per source
  active 1..2
  delta -0.7..0.7 deadzone 0.1
  goals reading_difficulty, formality, diversity, length
}}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  concurrency 4
}}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models fake  interventions direct }}
"""

# What differs between two runs of one spec whatever the executor: the run's own rows, the
# owner's path, and times.
RUN_TABLES = {"runs", "stage_runs", "meta"}
TIMES = {"latency_s", "server_s"}


def write_corpus(folder: Path) -> None:
    with open(folder / "corpus.jsonl", "w") as f:
        for i in range(14):
            text = (f"Report {i}. The committee met on a rainy Tuesday to talk about the "
                    "budget. " * (i % 4 + 1) + "Nobody agreed, of course, and lunch was late.")
            f.write(json.dumps({"text": text}) + "\n")


def run_spec(folder: Path, store: str, url: str, *extra: str) -> subprocess.CompletedProcess:
    spec = folder / f"{store}.steer"
    spec.write_text(SPEC.format(store=f"{store}.duckdb", url=url))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "steerdsl.cli", "run", str(spec), *extra],
                          capture_output=True, text=True, timeout=400, env=env)


def store_values(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the columns that hold times."""
    con = open_store(path, read_only=True)
    try:
        out = {}
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
            "AND NOT temporary ORDER BY table_name").fetchall() if t not in RUN_TABLES]
        for table in tables:
            cols = [c for c, kind in con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                "AND schema_name = 'main' ORDER BY column_index", [table]).fetchall()
                    if kind != "TIMESTAMP" and c not in TIMES]
            quoted = ", ".join(f'"{c}"' for c in cols)
            out[table] = sorted(con.execute(f"SELECT {quoted} FROM {table}").fetchall(), key=repr)
        return out
    finally:
        con.close()


def test_a_run_on_the_cluster_stores_what_a_run_here_stores(ray_cluster, tmp_path):
    write_corpus(tmp_path)
    with FakeOpenAI() as server:
        here = run_spec(tmp_path, "here", server.url)
        assert here.returncode == 0, here.stderr
        there = run_spec(tmp_path, "there", server.url, "--ray", ray_cluster.address)
        assert there.returncode == 0, there.stderr
    assert f"measuring on ray {ray_cluster.address} (2 actors)" in there.stderr
    assert "measuring on local (" in here.stderr
    for stage in ("measure:c", "score:fake/direct"):
        assert f"  {stage}: " in there.stderr and " texts/s" in there.stderr
    assert "  generate:fake/direct: 30 calls in " in there.stderr

    a, b = store_values(tmp_path / "here.duckdb"), store_values(tmp_path / "there.duckdb")
    assert a.keys() == b.keys()
    assert len(a["outputs"]) == 30 * 5 and len(a["measurements"]) > 14 * 5
    for table in a:
        assert a[table] == b[table], table

    con = open_store(tmp_path / "there.duckdb", read_only=True)
    try:
        assert con.execute("SELECT executor FROM runs").fetchall() == [
            (f"ray {ray_cluster.address} (2 actors)",)]
        ran = {s: (items, unit) for s, items, unit in con.execute(
            "SELECT stage, items, unit FROM stage_runs").fetchall()}
    finally:
        con.close()
    assert ran["measure:c"] == (14, "texts") and ran["generate:fake/direct"] == (30, "calls")
    assert ran["score:fake/direct"] == (30, "texts") and ran["corpus:c"] == (None, None)


def test_an_actor_killed_mid_stage_loses_only_its_chunk(ray_cluster, tmp_path):
    from steerdsl.executors.ray import RayExecutor

    goals = [builtin("grade", "flesch_kincaid_grade"), builtin("length", "token_count")]
    texts = [f"Text {i}: the cat sat on the mat {i % 9} times, then left." for i in range(160)]
    executor = RayExecutor(ray_cluster.address)
    victim = executor.pids()[0]
    killed = []

    def progress(done, total):
        if done and not killed:  # the first chunk is back: others are in flight
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    con = open_store(tmp_path / "s.duckdb")
    try:
        measured = measure_texts(texts, goals, con=con, executor=executor, progress=progress)
        assert killed and victim not in executor.pids()
        rows = con.execute("SELECT text_hash, measure_id, count(*) FROM measurements "
                           "GROUP BY ALL").fetchall()
    finally:
        executor.close()
        con.close()
    assert len(rows) == 160 * 2 and {n for *_, n in rows} == {1}  # each value once
    here = measure_texts(texts, goals, workers=1)
    for g in goals:
        assert np.array_equal(measured.raw[g.name], here.raw[g.name])
    assert not measured.errors and measured.computed == 320
