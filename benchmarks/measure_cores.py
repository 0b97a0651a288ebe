"""Scoring throughput on more cores: the same texts measured (the paper's four goals, no
cache) in one process, in a pool of 2 worker processes, and on a two-node Ray cluster on
loopback with 2 actors (one CPU each); prints texts/s of each and the ratios to one process.

    .venv/bin/python benchmarks/measure_cores.py [--texts 600] [--no-ray]

Texts: data/demo/corpus.jsonl (about 320 words each), repeated with a numbered suffix so every
text is distinct. spaCy is loaded before the clock starts, in every process (the pool forks
after loading it; each actor loads it once, warmed on a few other texts first): what is
timed is measuring, as in a long score stage. On a machine whose cores are busy with other
work the ratios fall: run it on an idle machine (it prints the load average; CPU seconds show
the work was the same whichever way it ran).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from measure import GOALS, build_texts  # noqa: E402  (benchmarks/measure.py)

from steerdsl.goals.measure import measure_texts  # noqa: E402
from steerdsl.goals.nlp import load_nlp  # noqa: E402
from steerdsl.plan.hashing import builtin_measure_id  # noqa: E402
from steerdsl.plan.model import BuiltinMeasure, FixedNorm, GoalPlan  # noqa: E402


def goals() -> list[GoalPlan]:
    out = []
    for name in GOALS:
        mid, versions = builtin_measure_id(name)
        out.append(GoalPlan(name=name, measure=BuiltinMeasure(name=name), measure_id=mid,
                            versions=versions, normalize=FixedNorm(lo=0.0, hi=1.0)))
    return out


def timed(texts: list[str], **how) -> tuple[float, dict]:
    """Wall seconds and values; also notes the CPU seconds this process and its children
    (the pool's workers) spent, in CPU[-1], and the most one worker spent, in BUSIEST[-1]."""
    before = _cpu()
    watch = _ChildCpu()
    watch.start()
    start = time.perf_counter()
    measured = measure_texts(texts, goals(), **how)
    seconds = time.perf_counter() - start
    watch.stop()
    CPU.append(_cpu() - before)
    BUSIEST.append(max(watch.seen.values(), default=CPU[-1]))
    return seconds, measured.raw


class _ChildCpu(threading.Thread):
    """Polls the CPU seconds of this process's children (the pool's workers) while they run:
    on an idle machine the wall time cannot beat the busiest worker's CPU time."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._done.wait(0.1):
            for task in Path(f"/proc/{os.getpid()}/task").iterdir():
                try:
                    children = (task / "children").read_text().split()
                except OSError:
                    continue
                for pid in children:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.seen[int(pid)] = (int(fields[11]) + int(fields[12])) / tick

    def stop(self) -> None:
        self._done.set()
        self.join()


CPU: list[float] = []
BUSIEST: list[float] = []
LOAD: list[float] = []


def _cpu() -> float:
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--texts", type=int, default=600)
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray cluster")
    args = ap.parse_args()
    texts = build_texts(args.texts)
    LOAD.append(os.getloadavg()[0])
    load_nlp()
    measure_texts(build_texts(8), goals(), workers=1)  # warm: dictionaries, first-call costs
    results: list[tuple[str, float]] = []
    one, raw_one = timed(texts, workers=1)
    results.append(("1 process", one))
    two, raw_two = timed(texts, workers=2)
    results.append(("2 processes", two))
    same = [_identical(raw_one, raw_two)]
    if not args.no_ray:
        results.append(("ray, 2 actors on 2 nodes", _on_ray(texts, raw_one, same)))
    print(f"{len(texts)} texts, goals {', '.join(GOALS)}; {os.cpu_count()} cores, load "
          f"average {LOAD[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    for (name, seconds), cpu, busiest in zip(results, CPU, BUSIEST):
        if "ray" in name:
            cpu_note = ""
        else:  # the speed-up an idle machine allows: all the work / the busiest worker's
            cpu_note = (f"  CPU {cpu:.1f} s, busiest worker {busiest:.1f} s: at most "
                        f"x{CPU[0] / busiest:.2f} on idle cores")
        print(f"  {name:<26} {seconds:7.1f} s  {len(texts) / seconds:7.1f} texts/s  "
              f"x{one / seconds:.2f}{cpu_note}")
    print(f"values identical to one process: {all(same)}")


def _on_ray(texts, raw_one, same: list[bool]) -> float:
    import shutil

    from support.ray_cluster import RayCluster

    from steerdsl.executors.ray import RayExecutor

    folder = Path(tempfile.mkdtemp(prefix="steerdsl-ray-"))
    cluster = RayCluster(folder)
    try:
        executor = RayExecutor(cluster.address)
        try:
            measure_texts([t + " (warm-up)" for t in build_texts(16)], goals(),
                          executor=executor)
            seconds, raw = timed(texts, executor=executor)
        finally:
            executor.close()
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    same.append(_identical(raw_one, raw))
    return seconds


def _identical(a: dict, b: dict) -> bool:
    import numpy as np

    return all(np.array_equal(a[g], b[g], equal_nan=True) for g in GOALS)


if __name__ == "__main__":
    main()
