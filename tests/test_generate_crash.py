"""kill -9 of a generating process at several points: the rerun finishes with exactly the
calls of an uninterrupted run, never requests a stored answer again, and each kill loses only
answers from about the last second (the writer flushes every 0.5 s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from steerdsl.generate.stage import run_generate
from steerdsl.store.db import open_store
from support.fake_openai import FakeOpenAI, Reply
from support.gen_plans import dump, fake_model, intervention, make_plan, make_rows

CHILD = Path(__file__).parent / "support" / "generate_child.py"
DELAY = 0.04  # server time per answer
LOST_WINDOW_S = 1.5  # flush every 0.5 s, plus slack for a loaded machine

COLUMNS = "row_id, sample, status, prompt, raw_answer, answer, answer_hash, error"


def stored(path: Path, gen_hash: str) -> list[tuple]:
    con = open_store(path)  # replays the WAL a killed writer left
    try:
        return con.execute(f"SELECT {COLUMNS} FROM calls WHERE gen_hash = ? ORDER BY row_id, "
                           "sample", [gen_hash]).fetchall()
    finally:
        con.close()


def start_child(store: Path, job: Path, stage_id: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, str(CHILD), str(store), str(job), stage_id],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_kill_9_at_several_points_then_resume(tmp_path):
    rows = make_rows(300)
    with FakeOpenAI(default=Reply.ok(delay=DELAY)) as server:
        iv = intervention("best2", samples=2, sampling={"temperature": 1.0})
        model = fake_model(server.url, concurrency=8)
        plan = make_plan([model], [iv])
        stage = plan.stage("generate:fake/best2")
        job = tmp_path / "job.json"
        dump(job, plan, rows)

        # The reference: one uninterrupted run, in process.
        ref_con = open_store(tmp_path / "ref.duckdb")
        assert run_generate(ref_con, plan, stage, rows).ok == 600
        ref_con.close()
        reference = stored(tmp_path / "ref.duckdb", stage.hash)
        server.clear()

        store = tmp_path / "crash.duckdb"
        stored_prompts: set[str] = set()
        for kill_after_s in (0.3, 1.0, 1.6):  # after the run's first request
            seen = server.count()
            proc = start_child(store, job, stage.id)
            while server.count() == seen:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.005)
            time.sleep(kill_after_s)
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            proc.wait()
            log = server.requests()
            # Stored answers are never requested again by a later run.
            assert not {r.prompt for r in log[seen:]} & stored_prompts
            now = stored(store, stage.hash)
            assert len({(r[0], r[1]) for r in now}) == len(now)  # never a duplicate row
            stored_prompts = {r[3] for r in now}
            # What was answered but not stored arrived within about the last second.
            answered = [r for r in log[seen:] if r.t + DELAY < killed_at - 0.05]
            lost = [r for r in answered if r.prompt not in stored_prompts]
            ages = sorted(round(killed_at - r.t, 2) for r in lost)
            assert all(a <= LOST_WINDOW_S for a in ages), (kill_after_s, len(answered), len(lost), ages[-10:])
        assert 0 < len(stored_prompts) < 300  # the kills did cut a run in progress

        seen = server.count()
        proc = start_child(store, job, stage.id)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert not {r.prompt for r in server.requests()[seen:]} & stored_prompts
        assert stored(store, stage.hash) == reference
        assert len(server.counts()) == 300
