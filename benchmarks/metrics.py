"""Metrics over 1M scored answers: the store's SQL views against a straightforward pandas version.

Writes a synthetic store (a probe of 250k rows x 4 goals, one model x one best-of-4
intervention: 1M answers, 4M output values) in bulk to a temporary file, then times
  - SQL: materializing every row of the `metrics` view (all seven metrics and `selected`),
  - pandas: the same metrics and selection from the same tables, loaded as DataFrames
    (load time reported separately, not counted),
checks that both agree, and prints the numbers. Goal: SQL under 2 s and at least 20x faster.

    .venv/bin/python benchmarks/metrics.py [--rows 250000] [--samples 4] [--goals 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from steerdsl.store.db import open_store

EPS = 1e-8
CUTS = np.array([-1.0, -0.5, -0.2, -0.1, 0.1, 0.2, 0.5, 1.0])
METRICS = ["steering_error", "miscalibration", "orthogonality", "steering_error_raw",
           "miscalibration_raw", "orthogonality_raw", "orthogonality_paper"]


PROBE, GEN = "3f2a9c1e7b6d4058", "a81c5e9f0d2b7364"  # hashes as long as real ones


def write_store(path: Path, rows: int, samples: int, d: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    # the paper's goal names (long strings, as in real stores), then made-up ones
    paper = ["reading_difficulty", "formality", "textual_diversity", "text_length"]
    goals = (paper + [f"goal_{j}" for j in range(4, d)])[:d]
    source = rng.uniform(0, 1, (rows, d))
    active = rng.random((rows, d)) < 0.5
    delta = np.where(active, rng.uniform(-0.7, 0.7, (rows, d)), np.nan)
    target = np.clip(source + delta, 0, 1)
    delta = target - source  # keep target = source + delta inside [0, 1]
    n = rows * samples
    output = np.clip(np.repeat(np.nan_to_num(target, nan=0) * active + source * ~active,
                               samples, axis=0) + rng.normal(0, 0.15, (n, d)), 0, 1)
    con = open_store(path)
    try:
        con.execute("INSERT INTO probes VALUES (?, 'bench', NULL, ?, NULL, NULL)", [PROBE, rows])
        con.execute("INSERT INTO generations VALUES (?, 'model', 'best', ?, '{}')", [GEN, PROBE])
        con.execute("INSERT INTO current VALUES ('probe:bench', ?), ('generate:model/best', ?)",
                    [PROBE, GEN])
        _bulk(con, "probe_goals", pa.table({
            "probe_hash": pa.array([PROBE] * (rows * d)),
            "row_id": np.repeat(np.arange(rows, dtype=np.int32), d),
            "goal": pa.array(goals * rows),
            "source_raw": source.ravel(), "source": source.ravel(),
            "delta": pa.array(delta.ravel(), from_pandas=True),
            "target": pa.array(np.where(active, target, np.nan).ravel(), from_pandas=True)}))
        row_id = np.repeat(np.arange(rows, dtype=np.int32), samples)
        sample = np.tile(np.arange(samples, dtype=np.int32), rows)
        _bulk(con, "calls", pa.table({
            "gen_hash": pa.array([GEN] * n), "row_id": row_id, "sample": sample,
            "status": pa.array(["ok"] * n)}))
        _bulk(con, "outputs", pa.table({
            "gen_hash": pa.array([GEN] * (n * d)), "row_id": np.repeat(row_id, d),
            "sample": np.repeat(sample, d), "goal": pa.array(goals * n),
            "raw": output.ravel(), "value": output.ravel()}))
    finally:
        con.close()


def _bulk(con, table: str, data: pa.Table) -> None:
    con.register("_bulk", data)
    cols = ", ".join(data.column_names)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _bulk")
    con.unregister("_bulk")


def sql_metrics(path: Path) -> tuple[float, float, pd.DataFrame]:
    """Every row and column of the `metrics` view, fetched as an Arrow table: wall and CPU
    seconds (CPU summed over DuckDB's threads: what the query costs on a busy machine)."""
    con = open_store(path, read_only=True)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        table = con.sql("SELECT * FROM metrics").to_arrow_table()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        con.sql("SELECT * FROM summary").fetchall()
        print(f"SQL summary view (metrics + statistics): {time.perf_counter() - t0:.3f} s wall")
    finally:
        con.close()
    return elapsed, cpu, table.to_pandas()


def pandas_metrics(pg: pd.DataFrame, out: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """The same metrics with pandas, as one would write them without the store."""
    ok = calls[calls.status == "ok"][["gen_hash", "row_id", "sample"]]
    df = out.merge(ok, on=["gen_hash", "row_id", "sample"]).merge(
        pg, on=["row_id", "goal"])
    z0, zh = df["source"].to_numpy(), df["value"].to_numpy()
    zs = df["target"].fillna(df["source"]).to_numpy()
    dl = df["delta"].fillna(0.0).to_numpy()

    def bins(x, ref):
        return (x[:, None] >= np.clip(ref[:, None] + CUTS, 0, 1)).sum(axis=1) - 1

    bh, bs = bins(zh, z0), bins(zs, z0)
    df["a"], df["r"], df["m"] = zs - zh, zs - z0, zh - z0
    df["ab"], df["mb"] = (bh - bs) / 7, (bh - 3) / 7
    df["q"] = ((dl[:, None] >= CUTS).sum(axis=1) - 4) / 7
    df["active"] = df["delta"].notna()
    keys = ["gen_hash", "row_id", "sample"]
    for x, y in [("a", "a"), ("a", "r"), ("r", "r"), ("m", "m"), ("ab", "ab"), ("ab", "q"),
                 ("q", "q"), ("mb", "mb"), ("ab", "r")]:
        df[f"{x}.{y}"] = df[x] * df[y]
    g = df.groupby(keys, sort=False)
    sums = g[[c for c in df.columns if "." in c]].transform("sum")
    k_r = sums["a.r"] / (sums["r.r"] + EPS)
    k_q = sums["ab.q"] / (sums["q.q"] + EPS)
    k_p = sums["ab.r"] / (sums["r.r"] + EPS)
    df["rej_raw"] = (df["a"] - k_r * df["r"]) ** 2
    df["rej_bin"] = (df["ab"] - k_q * df["q"]) ** 2
    df["rej_paper"] = (df["ab"] - k_p * df["r"]) ** 2
    agg = df.groupby(keys, sort=False).agg(
        n_active=("active", "sum"), aa=("a.a", "sum"), ar=("a.r", "sum"), rr=("r.r", "sum"),
        mm=("m.m", "sum"), abab=("ab.ab", "sum"), abq=("ab.q", "sum"), qq=("q.q", "sum"),
        mbmb=("mb.mb", "sum"), rej_raw=("rej_raw", "sum"), rej_bin=("rej_bin", "sum"),
        rej_paper=("rej_paper", "sum")).reset_index()

    def orth(rej, mm, rr):
        return np.clip(np.sqrt(rej) / (np.sqrt(mm) + 1e-4 * (np.sqrt(rr) + EPS)), 0, 1)

    agg["steering_error"] = np.sqrt(agg["abab"])
    agg["miscalibration"] = agg["abq"].abs() / (np.sqrt(agg["qq"]) + EPS) ** 2
    agg["orthogonality"] = orth(agg["rej_bin"], agg["mbmb"], agg["qq"])
    agg["steering_error_raw"] = np.sqrt(agg["aa"])
    agg["miscalibration_raw"] = agg["ar"].abs() / (np.sqrt(agg["rr"]) + EPS) ** 2
    agg["orthogonality_raw"] = orth(agg["rej_raw"], agg["mm"], agg["rr"])
    agg["orthogonality_paper"] = orth(agg["rej_paper"], agg["mbmb"], agg["rr"])
    agg = agg.sort_values(["gen_hash", "row_id", "steering_error_raw", "sample"])
    agg["selected"] = ~agg.duplicated(["gen_hash", "row_id"])
    return agg[keys + ["n_active"] + METRICS + ["selected"]]


def per_answer_pandas(pg: pd.DataFrame, out: pd.DataFrame, answers: int) -> float:
    """Seconds per answer of the most literal pandas version: merge, then one function call per
    answer (groupby-apply) with numpy vectors, as the definitions read. Timed on a slice."""
    keys = ["gen_hash", "row_id", "sample"]
    first = out.drop_duplicates(keys).head(answers)[keys]
    df = out.merge(first, on=keys).merge(pg, on=["row_id", "goal"])

    def one(g: pd.DataFrame) -> pd.Series:
        z0, zh = g["source"].to_numpy(), g["value"].to_numpy()
        zs = g["target"].fillna(g["source"]).to_numpy()
        d = g["delta"].fillna(0.0).to_numpy()
        cuts = np.clip(z0[:, None] + CUTS, 0, 1)
        bh = (zh[:, None] >= cuts).sum(1) - 1
        bs = (zs[:, None] >= cuts).sum(1) - 1
        ab, mb, q = (bh - bs) / 7, (bh - 3) / 7, ((d[:, None] >= CUTS).sum(1) - 4) / 7
        a, r, m = zs - zh, zs - z0, zh - z0

        def orth(x, y, mm):
            k = x @ y / (y @ y + EPS)
            return min(max(np.linalg.norm(x - k * y) / (np.linalg.norm(mm) + 1e-4 * (
                np.linalg.norm(y) + EPS)), 0.0), 1.0)

        return pd.Series({
            "steering_error": np.linalg.norm(ab),
            "miscalibration": abs(ab @ q) / (np.linalg.norm(q) + EPS) ** 2,
            "orthogonality": orth(ab, q, mb), "steering_error_raw": np.linalg.norm(a),
            "miscalibration_raw": abs(a @ r) / (np.linalg.norm(r) + EPS) ** 2,
            "orthogonality_raw": orth(a, r, m), "orthogonality_paper": orth(ab, r, mb)})

    t0 = time.perf_counter()
    df.groupby(keys, sort=False).apply(one, include_groups=False)
    return (time.perf_counter() - t0) / len(first)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=250_000)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--goals", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        write_store(path, args.rows, args.samples, args.goals)
        n = args.rows * args.samples
        print(f"store: {n:,} answers x {args.goals} goals written in "
              f"{time.perf_counter() - t0:.1f} s")

        sql_s, sql_cpu, sql_df = sql_metrics(path)
        threads = os.cpu_count()
        print(f"SQL metrics view:      {sql_s:7.3f} s wall, {sql_cpu:.3f} s CPU on {threads} "
              f"threads ({n / sql_s / 1e6:.2f} M answers/s)")

        con = open_store(path, read_only=True)
        t0 = time.perf_counter()
        pg = con.execute("SELECT row_id, goal, source, delta, target FROM probe_goals").df()
        out = con.execute("SELECT gen_hash, row_id, sample, goal, value FROM outputs").df()
        calls = con.execute("SELECT gen_hash, row_id, sample, status FROM calls").df()
        con.close()
        load_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        pd_df = pandas_metrics(pg, out, calls)
        pd_s, pd_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"pandas (same metrics): {pd_s:7.3f} s wall, {pd_cpu:.3f} s CPU "
              f"(+{load_s:.1f} s loading the tables)")
        print(f"speed-up: {pd_s / sql_s:.1f}x wall, {pd_cpu / sql_cpu:.1f}x CPU  "
              f"(goal: >= 20x, SQL < 2 s)")
        per = per_answer_pandas(pg, out, 5_000)
        print(f"pandas, one function call per answer (groupby-apply, timed on 5,000 answers): "
              f"{per * 1e6:.0f} us/answer, {per * n:.0f} s projected for {n:,} answers "
              f"({per * n / sql_s:.0f}x the SQL time)")

        keys = ["gen_hash", "row_id", "sample"]
        a = sql_df.sort_values(keys).reset_index(drop=True)
        b = pd_df.sort_values(keys).reset_index(drop=True)
        worst = max(float(np.nanmax(np.abs(a[c].to_numpy() - b[c].to_numpy()))) for c in METRICS)
        same_pick = bool((a["selected"].to_numpy() == b["selected"].to_numpy()).all())
        print(f"agreement: max |SQL - pandas| = {worst:.2e}, same best-of-N picks: {same_pick}")


if __name__ == "__main__":
    main()
