"""Memory and time of `steerdsl run` at growing probe sizes, against a loopback server.

    .venv/bin/python benchmarks/scale.py                 # 1k, 10k and 100k probe rows
    .venv/bin/python benchmarks/scale.py --quick         # 1k and 10k
    .venv/bin/python benchmarks/scale.py --sizes 1000,100000 --source /tmp/old-steerdsl

One spec (the paper's four goals, a generated corpus of short texts, one model and one
intervention) is run with a probe of S sources x R requests per source for each size, in a
fresh store, as a subprocess (`python -m steerdsl.cli run SPEC -q`) against the loopback
OpenAI-compatible server of tests/support/fake_openai.py (its own process). The run's whole
process tree (the driver and its measuring workers) is sampled every 0.1 s (every second with
--cores, below). Printed per size:
wall time, peak RSS of the tree (the sum of its processes' RSS: forked workers share pages, so
this overcounts them), the driver's own peak (VmHWM), and each stage's seconds and throughput.

Throughput per stage comes from the store: the run's own clock of the stage (table stage_runs),
else an entry the run recorded (stages_done.info "seconds"), else the time between a stage's
finished_at and the one before it (the first stage from the run's start).

--source: the steerdsl tree to run (default: this one), to compare a change with the code before
it. --batch: the model in batch mode against the loopback files + batches server
(tests/support/fake_batches.py): 100k requests in seconds where one by one through litellm they
take minutes (a job's request file and its result files go through temporary files).
--distinct-answers: each answer differs (the server appends a counter), so scoring
measures every answer with spaCy (slow) instead of the few hundred distinct ones.
--cores: each size run a second time pinned to one core (CPU affinity: one measuring process);
per stage, the throughput on 1 core and on all, the cores the stage kept busy (its CPU seconds,
stage_runs.cpu_seconds, over its wall time), the CPU time per item, and the share of the
machine's CPU the hypervisor gave to other guests during each run (/proc/stat's steal). A ratio
below the cores busy is the same work costing more CPU on all cores (shared caches and memory
bandwidth, or a contended host): compare runs with little steal.

Goal (issue 15): peak RSS at 100k rows within 15% of the 1k run, and under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.scale import make_corpus, write_spec  # noqa: E402

@dataclass
class Sample:
    peak_tree: int = 0  # bytes: the largest sum of RSS over the tree seen
    peak_pss: int = 0  # bytes: the largest sum of PSS (shared pages split between sharers)
    peak_driver: int = 0  # bytes: the driver's VmHWM, last read
    peak_processes: int = 0
    # (unix time, the driver's RSS): tells which stage the driver's peak was in
    driver: list[tuple[float, int]] = field(default_factory=list)

    def take(self, pid: int) -> None:
        self.driver.append((time.time(), _field(pid, "status", "VmRSS:")))
        pids = _tree(pid)
        self.peak_tree = max(self.peak_tree, sum(_field(p, "status", "VmRSS:") for p in pids))
        self.peak_pss = max(self.peak_pss, sum(_field(p, "smaps_rollup", "Pss:") for p in pids))
        self.peak_driver = max(self.peak_driver, _field(pid, "status", "VmHWM:"))
        self.peak_processes = max(self.peak_processes, len(pids))


def _tree(pid: int) -> list[int]:
    """pid and its descendants (psutil when installed, else /proc)."""
    try:
        import psutil

        try:
            root = psutil.Process(pid)
            return [pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []
    except ImportError:
        pass
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _field(pid: int, file: str, name: str) -> int:
    """A "Name:  123 kB" line of /proc/PID/FILE, in bytes (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@dataclass
class Result:
    rows: int
    wall_s: float
    sample: Sample
    # id, seconds, items, unit, CPU seconds of the run and its measuring processes (or None)
    stages: list[tuple[str, float, int, str, float | None]] = field(default_factory=list)
    stage_peaks: list[tuple[str, int]] = field(default_factory=list)  # id, driver's peak RSS
    counts: dict[str, int] = field(default_factory=dict)
    steal: float = 0.0  # share of the machine's CPU time the hypervisor gave to other guests


def run_size(work: Path, source: Path, url: str, rows: int, sources: int, batch: bool,
             cpus: int | None = None, label: str = "", every: float = 0.1) -> Result:
    requests = max(1, rows // sources)
    folder = work / f"rows{rows}{label}"
    folder.mkdir()
    store = folder / "scale.duckdb"
    spec = write_spec(folder / "scale.steer", store=store, corpus=work / "corpus.jsonl",
                      url=url, sources=min(sources, rows), requests=requests,
                      key="STEERDSL_SCALE_KEY", batch=batch,
                      price="in 0.1 out 0.4" if batch else "")
    env = {**os.environ, "PYTHONPATH": str(source), "STEERDSL_SCALE_KEY": "none",
           "HF_HUB_OFFLINE": "1", "STEERDSL_BATCH_POLL_S": "0.2"}
    sample = Sample()
    cpu_before = _cpu_ticks()
    started = time.perf_counter()
    # The run measures on as many processes as it may use cores (its CPU affinity).
    pin = None if cpus is None else (lambda: os.sched_setaffinity(0, range(cpus)))
    proc = subprocess.Popen([sys.executable, "-m", "steerdsl.cli", "run", str(spec), "-q"],
                            cwd=folder, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=pin)
    while proc.poll() is None:
        sample.take(proc.pid)
        time.sleep(every)
    wall = time.perf_counter() - started
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"steerdsl run failed at {rows} rows (exit {proc.returncode}):\n{out}")
    result = Result(rows=sources * requests, wall_s=wall, sample=sample,
                    steal=_steal(cpu_before, _cpu_ticks()))
    _read_store(store, result)
    return result


def _cpu_ticks() -> list[int]:
    """The machine's CPU time by kind (/proc/stat: user nice system idle iowait irq softirq
    steal ...), in clock ticks."""
    return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def _steal(before: list[int], after: list[int]) -> float:
    spent = [b - a for a, b in zip(before, after)]
    return spent[7] / sum(spent[:8]) if len(spent) > 7 and sum(spent[:8]) else 0.0


UNITS = {"corpus": ("texts", "texts"), "measure": ("texts", "texts"),
         "probe": ("rows", "rows"), "generate": ("requests", "calls"),
         "score": (None, "answers")}


def _read_store(store: Path, result: Result) -> None:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        (start,) = con.execute("SELECT min(started_at) FROM runs").fetchone()
        done = con.execute("SELECT stage, finished_at, info FROM stages_done "
                           "ORDER BY finished_at").fetchall()
        answers = con.execute("SELECT count(*) FROM calls WHERE status = 'ok'").fetchone()[0]
        previous = start
        ends = [(stage, finished.timestamp())  # naive: local time, as DuckDB wrote it
                for stage, finished, _ in done] + [("end of run", float("inf"))]
        since = 0.0
        for stage, end in ends:
            peak = max((rss for t, rss in result.sample.driver if since < t <= end), default=0)
            result.stage_peaks.append((stage, peak))
            since = end
        # the run's own clock of each stage (table stage_runs) where it kept one
        clocked = {stage: (seconds, cpu) for stage, seconds, cpu in con.execute(
            "SELECT stage, seconds, cpu_seconds FROM stage_runs").fetchall()}
        for stage, finished, info_json in done:
            info = json.loads(info_json or "{}")
            kind = stage.split(":", 1)[0]
            seconds, cpu = clocked.get(stage, (None, None))
            seconds = seconds or info.get("seconds") or (finished - previous).total_seconds()
            previous = finished
            key, unit = UNITS.get(kind, (None, "items"))
            n = answers if kind == "score" else int(info.get(key) or 0) if key else 0
            result.stages.append((stage, seconds, n, unit, cpu))
        for name, sql in COUNTS.items():
            result.counts[name] = con.execute(sql).fetchone()[0]
    finally:
        con.close()


COUNTS = {
    "probe_rows": "SELECT count(*) FROM probe_rows",
    "calls_ok": "SELECT count(*) FROM calls WHERE status = 'ok'",
    "outputs": "SELECT count(*) FROM outputs",
    "summary": "SELECT count(*) FROM summary",
}


def show(results: list[Result]) -> None:
    mb = 1024 * 1024
    print()
    print(f"{'rows':>8} {'wall s':>8} {'tree RSS':>8} {'tree PSS':>8} {'driver':>7}  "
          "per stage (s, rate); memory in MB")
    for r in results:
        stages = "  ".join(f"{sid} {s:.1f}s" + (f" {n / s:,.0f} {u}/s" if n and s > 0 else "")
                           for sid, s, n, u, _ in r.stages)
        print(f"{r.rows:>8,} {r.wall_s:>8.1f} {r.sample.peak_tree / mb:>8.0f} "
              f"{r.sample.peak_pss / mb:>8.0f} {r.sample.peak_driver / mb:>7.0f}  {stages}")
    base = results[0]
    for r in results[1:]:
        print(f"{r.rows:,} rows: tree peak RSS {r.sample.peak_tree / base.sample.peak_tree:.2f}x, "
              f"PSS {r.sample.peak_pss / base.sample.peak_pss:.2f}x and driver peak "
              f"{r.sample.peak_driver / base.sample.peak_driver:.2f}x the "
              f"{base.rows:,}-row run (goal: within 1.15x, under 1 GB)")
    for r in results:
        print(f"{r.rows:,} rows: driver's peak RSS by stage: "
              + ", ".join(f"{sid} {b / mb:.0f}" for sid, b in r.stage_peaks))
    for r in results:
        print(f"{r.rows:,} rows: store counts {r.counts}")


def compare_cores(one: Result, every: Result) -> None:
    """Each stage's throughput on one core and on all of this process's cores, side by side,
    with what explains the ratio: the cores the stage kept busy, and the CPU time per item
    (the same work costs more CPU when both cores run: caches and memory bandwidth are shared,
    and on a virtual machine, with other tenants)."""
    print(f"{every.rows:,} rows, throughput on 1 core -> {len(os.sched_getaffinity(0))} cores "
          f"(cores busy; CPU ms per item); CPU stolen by the hypervisor {one.steal:.0%} -> "
          f"{every.steal:.0%}:")
    for (sid, s1, n1, unit, c1), (_, s2, n2, _, c2) in zip(one.stages, every.stages):
        if n1 and n2 and s1 > 0 and s2 > 0:
            cpu = (f"  busy {c1 / s1:.2f} -> {c2 / s2:.2f}; CPU {1000 * c1 / n1:.2f} -> "
                   f"{1000 * c2 / n2:.2f} ms" if c1 and c2 else "")
            print(f"  {sid:<28} {n1 / s1:9,.1f} -> {n2 / s2:9,.1f} {unit}/s  "
                  f"x{(n2 / s2) / (n1 / s1):.2f}{cpu}")


def loopback_server(distinct: bool, batch: bool) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "support.fake_batches" if batch else "support.fake_openai"]
    if distinct:
        args.append("--distinct-answers")
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    return server, server.stdout.readline().strip()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000",
                   help="probe rows, comma separated (default 1000,10000,100000)")
    p.add_argument("--quick", action="store_true", help="sizes 1000,10000")
    p.add_argument("--sources", type=int, default=1000,
                   help="sources of the probe (rows = sources x requests per source)")
    p.add_argument("--corpus", type=int, default=1500, help="texts of the generated corpus")
    p.add_argument("--source", type=Path, default=ROOT, help="the steerdsl tree to run")
    p.add_argument("--distinct-answers", action="store_true",
                   help="every answer a different text (scoring measures each one)")
    p.add_argument("--batch", action="store_true",
                   help="the model in batch mode, against the loopback files + batches server "
                   "(fast at 100k rows; its distinct answers are not supported)")
    p.add_argument("--keep", type=Path, help="keep the stores in this folder")
    p.add_argument("--cores", action="store_true",
                   help="each size also on one core (CPU affinity: one measuring process), "
                   "to compare the stages' throughput on one core and on all of them")
    args = p.parse_args()
    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    # Sampling memory costs CPU (smaps_rollup walks a process's page tables: about 15 ms a
    # sample, 15% of a core at 10 a second), taken from the run on all cores and not from the
    # pinned one: comparing them, sample once a second.
    every = 1.0 if args.cores else 0.1
    if args.cores:
        print("--cores: memory sampled once a second (its peaks may be missed: measure memory "
              "without --cores)")
    if args.batch and args.distinct_answers:
        p.error("--distinct-answers is for the chat-completions server, not --batch")
    server, url = loopback_server(args.distinct_answers, args.batch)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = args.keep or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            make_corpus(work / "corpus.jsonl", args.corpus)
            results = []
            for rows in sizes:
                r = run_size(work, args.source.resolve(), url, rows, args.sources, args.batch,
                             every=every)
                print(f"{r.rows:,} rows: {r.wall_s:.1f} s, tree peak RSS "
                      f"{r.sample.peak_tree / 2**20:.0f} MB, PSS {r.sample.peak_pss / 2**20:.0f} "
                      f"MB, driver {r.sample.peak_driver / 2**20:.0f} MB", flush=True)
                results.append(r)
                if args.cores:
                    one = run_size(work, args.source.resolve(), url, rows, args.sources,
                                   args.batch, cpus=1, label="-1core", every=every)
                    compare_cores(one, r)
            show(results)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
