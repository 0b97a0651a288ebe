"""Writing hand-made probes and answers into a real store, for the metrics and query tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from steerdsl.store.db import open_store


def insert(con, table: str, columns: dict[str, list]) -> None:
    data = pa.table(columns)
    con.register("_test_batch", data)
    try:
        names = ", ".join(columns)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _test_batch")
    finally:
        con.unregister("_test_batch")


def _nullable(x: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in x.ravel()]


def write_probe(con, goals: list[str], source: np.ndarray, delta: np.ndarray, *,
                probe_hash: str = "P1", name: str = "probe", current: bool = True) -> None:
    """source, delta: (rows, goals); NaN delta = inactive goal; NaN source = failed measure."""
    rows, d = source.shape
    target = source + delta
    insert(con, "probes", {"probe_hash": [probe_hash], "name": [name], "space_hash": ["S"],
                           "n_rows": [rows]})
    insert(con, "probe_rows", {"probe_hash": [probe_hash] * rows, "row_id": list(range(rows)),
                               "text_hash": [None] * rows, "text_id": [None] * rows})
    insert(con, "probe_goals", {
        "probe_hash": [probe_hash] * (rows * d),
        "row_id": np.repeat(np.arange(rows), d).tolist(),
        "goal": goals * rows,
        "source_raw": _nullable(source * 10), "source": _nullable(source),
        "delta": _nullable(delta), "target": _nullable(target)})
    if current:
        con.execute("INSERT OR REPLACE INTO current VALUES (?, ?)", [f"probe:{name}", probe_hash])


def write_answers(con, goals: list[str], output: np.ndarray, *, gen_hash: str = "G1",
                  model: str = "m", intervention: str = "i", probe_hash: str = "P1",
                  status: np.ndarray | None = None, settings: str = "{}",
                  current: bool = True, truncated: np.ndarray | None = None) -> None:
    """output: (rows, samples, goals); NaN = a failed measurement of that goal.
    truncated: (rows, samples) booleans, finish_reason 'length' (else 'stop')."""
    rows, samples, d = output.shape
    n = rows * samples
    insert(con, "generations", {"gen_hash": [gen_hash], "model": [model],
                                "intervention": [intervention], "probe_hash": [probe_hash],
                                "settings": [settings]})
    ok = np.ones(n, dtype=bool) if status is None else status.ravel()
    row_id = np.repeat(np.arange(rows), samples)
    sample = np.tile(np.arange(samples), rows)
    insert(con, "calls", {
        "gen_hash": [gen_hash] * n, "row_id": row_id.tolist(), "sample": sample.tolist(),
        "answer": [f"answer {r}.{s}" for r, s in zip(row_id, sample)],
        "status": ["ok" if k else "error" for k in ok],
        "error": [None if k else "HTTP 500" for k in ok],
        "finish_reason": [None if not k else "length" if t else "stop" for k, t in
                          zip(ok, np.zeros(n, bool) if truncated is None else truncated.ravel())],
        "prompt_tokens": [100] * n, "completion_tokens": [50 if k else None for k in ok],
        "cost": [0.001 if k else None for k in ok], "latency_s": [1.0] * n})
    keep = np.repeat(ok, d)
    insert(con, "outputs", {
        "gen_hash": [gen_hash] * int(keep.sum()),
        "row_id": np.repeat(row_id, d)[keep].tolist(),
        "sample": np.repeat(sample, d)[keep].tolist(),
        "goal": np.array(goals * n, dtype=object)[keep].tolist(),
        "raw": [None if v is None else v * 10 for v in
                np.array(_nullable(output), dtype=object)[keep]],
        "value": np.array(_nullable(output), dtype=object)[keep].tolist()})
    if current:
        con.execute("INSERT OR REPLACE INTO current VALUES (?, ?)",
                    [f"generate:{model}/{intervention}", gen_hash])


def new_store(path: Path):
    return open_store(path)
