"""The local executor and what a run records of its executor: jobs run once each and come
back as they finish, a run without --ray imports nothing of Ray, a missing Ray or an
unreachable cluster is a clear message, and runs record their executor and throughput."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import numpy as np
import pytest

from steerdsl.errors import RunError, UsageError
from steerdsl.executors.local import LocalPool
from steerdsl.goals.engine import compute_builtins, compute_groups


def _slow_square(job: tuple[int, float]) -> int:
    n, pause = job
    time.sleep(pause)
    return n * n


def test_the_pool_runs_each_job_once_and_yields_as_jobs_finish():
    # job 0 is slow: the others come back before it (a lockstep map would hold them)
    jobs = [(0, 1.0)] + [(n, 0.0) for n in range(1, 12)]
    got = list(LocalPool(2).map_unordered(_slow_square, jobs))
    assert sorted(got) == [(n, n * n) for n in range(12)]
    assert got[-1] == (0, 0)


def test_one_worker_runs_in_this_process_in_order():
    called = []
    got = list(LocalPool(1).map_unordered(_slow_square, [(3, 0.0), (4, 0.0)],
                                          prepare=lambda: bool(called.append(1))))
    assert got == [(0, 9), (1, 16)] and called == [1]


def _pid(job: int) -> int:
    import os

    time.sleep(0.05)  # so both workers get jobs
    return os.getpid()


def _pids(pool: LocalPool, prepare=None) -> set[int]:
    return {pid for _, pid in pool.map_unordered(_pid, list(range(8)), prepare=prepare)}


def test_the_pool_outlives_a_map_until_released():
    import os

    pool = LocalPool(2)
    try:
        first = _pids(pool)
        assert len(first) == 2 and os.getpid() not in first
        assert _pids(pool) == first  # the same workers: forked once for a stage's chunks
        stopped = pool.map_unordered(_pid, list(range(8)))
        next(stopped)
        stopped.close()  # a caller that stops early leaves the pool usable
        assert _pids(pool) == first
        pool.release()  # between stages
        assert _pids(pool).isdisjoint(first)
    finally:
        pool.close()


def test_the_pool_forks_anew_when_prepare_loads_something():
    # workers forked before a load would each load their own copy
    pool = LocalPool(2)
    try:
        first = _pids(pool, prepare=lambda: False)
        assert _pids(pool, prepare=lambda: False) == first
        assert _pids(pool, prepare=lambda: True).isdisjoint(first)
    finally:
        pool.close()


@pytest.mark.parametrize("workers", [2, 3, 8, 64])
@pytest.mark.parametrize("texts", [200, 5000, 100_000])
def test_every_worker_gets_several_jobs_of_at_most_the_chunk_size(workers, texts):
    from steerdsl.goals.engine import chunk_size

    size = chunk_size(texts, workers, LocalPool.chunk_texts)
    jobs = -(-texts // size)
    assert size <= LocalPool.chunk_texts
    # several jobs a worker (4 asked for; rounding the size up can leave fewer), so all
    # stay busy to the end
    assert jobs >= 2 * workers


def test_chunks_cover_every_text_once_with_identical_values():
    texts = [f"Sentence {i}, with a few words. And another one here." for i in range(300)]
    names = ("flesch_kincaid_grade", "token_count")
    pooled = {}
    for g, start, batch in compute_groups([(texts, names)], workers=2):
        assert (g, start) not in pooled
        pooled[(g, start)] = batch
    values = np.concatenate([pooled[k].values for k in sorted(pooled)])
    assert np.array_equal(values, compute_builtins(texts, names).values)
    assert len(pooled) > 2 * 2  # several chunks per worker: both busy to the end


def test_without_ray_a_run_imports_nothing_of_ray(tmp_path):
    code = ("import sys\nfrom steerdsl.cli import main\n"
            f"rc = main(['run', {str(_spec(tmp_path))!r}, '--until', 'measure', '-q'])\n"
            "print(rc, [m for m in sys.modules if m == 'ray' or m.startswith('ray.')][:3])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr


def test_a_missing_ray_is_a_clear_message(tmp_path):
    code = ("import sys\nsys.modules['ray'] = None  # as if not installed\n"
            "from steerdsl.cli import main\n"
            f"sys.exit(main(['run', {str(_spec(tmp_path))!r}, '--ray', 'auto', '-q']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: measuring on a Ray cluster (--ray, `executor ray`) needs Ray, which is not "
        'installed: pip install "steerdsl[ray]"')


def test_an_unreachable_cluster_is_a_clear_message(tmp_path):
    from steerdsl.cli import main

    pytest.importorskip("ray")
    with pytest.raises(RunError, match=r"could not reach the Ray cluster at 127\.0\.0\.1:1: "):
        from steerdsl.executors.ray import RayExecutor

        RayExecutor("127.0.0.1:1")
    assert main(["run", str(_spec(tmp_path)), "--ray", "nowhere", "-q"]) == 2
    spec = _spec(tmp_path)  # the spec's setting, as the flag
    spec.write_text(spec.read_text().replace("seed 1", 'seed 1 executor ray "127.0.0.1:1"'))
    assert main(["run", str(spec), "-q"]) == 1


def test_a_run_records_its_executor_and_throughput(tmp_path, capsys):
    import steerdsl
    from steerdsl.run.runner import run_plan
    from steerdsl.store.db import open_store

    plan = steerdsl.load(_spec(tmp_path)).plan()
    run_plan(plan, until="measure")
    err = capsys.readouterr().err
    assert "measuring on local (" in err
    assert "  measure:c: 3 texts in " in err and " texts/s" in err
    # (too short a stage to tell its cores when spaCy was loaded by an earlier test)
    assert re.search(r"measure:c: 3 texts in .* texts/s(, \d+\.\d of \d+ cores busy)?\n", err)
    con = open_store(plan.experiment.store, read_only=True)
    try:
        executor, = con.execute("SELECT executor FROM runs").fetchone()
        ran = con.execute("SELECT stage, items, unit FROM stage_runs ORDER BY stage").fetchall()
        cpu = con.execute("SELECT cpu_seconds FROM stage_runs WHERE stage = 'measure:c'"
                          ).fetchone()[0]
    finally:
        con.close()
    assert executor.startswith("local (")
    assert ran == [("corpus:c", None, None), ("measure:c", 3, "texts")]
    assert cpu > 0  # measuring loads spaCy: seconds of CPU
    with pytest.raises(UsageError):  # the address is checked before anything runs
        run_plan(plan, ray="no address")


def test_cores_busy_is_the_cpu_time_over_the_wall_time():
    from steerdsl.goals.engine import default_workers
    from steerdsl.run.throughput import cores_busy

    assert cores_busy(3.0, 2.0) == f", 1.5 of {default_workers()} cores busy"
    assert cores_busy(0.01, 0.01) == ""  # CPU time is counted in 10 ms ticks: too short to tell


def test_a_stage_counts_the_cpu_of_the_processes_it_started():
    """The measuring processes' CPU time is the stage's: they are ended before it is read."""
    from steerdsl.run.throughput import cpu_seconds

    before = cpu_seconds()
    subprocess.run([sys.executable, "-c", "import time\nwhile time.process_time() < 0.5: pass"],
                   check=True)
    assert cpu_seconds() - before >= 0.5


def _spec(folder):
    (folder / "c.jsonl").write_text('{"text": "One two three."}\n{"text": "Four five."}\n'
                                    '{"text": "Six seven eight nine."}\n', encoding="utf-8")
    spec = folder / "s.steer"
    spec.write_text('experiment e { seed 1 store "s.duckdb" }\n'
                    'corpus c { read "c.jsonl" text "text" }\n'
                    "goals { length = token_count normalize 0..10 }\n", encoding="utf-8")
    return spec


def test_the_executor_setting_is_checked_and_planned(tmp_path):
    import steerdsl
    from steerdsl.lang.diagnostics import SpecError

    spec = _spec(tmp_path)
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("seed 1", 'seed 1 executor ray "10.0.0.5:6379"'))
    plan = steerdsl.load(spec).plan()
    assert plan.experiment.executor.model_dump() == {"kind": "ray", "address": "10.0.0.5:6379"}
    spec.write_text(text.replace("seed 1", 'seed 1 executor ray "head"'))
    with pytest.raises(SpecError) as info:
        steerdsl.load(spec).plan()
    assert "a Ray address is 'auto', HOST:PORT or ray://HOST:PORT (such as 127.0.0.1:6379); " \
        "not 'head'" in info.value.render()
