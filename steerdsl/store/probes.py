"""Writing and reading probes in the store: tables probes, probe_rows, probe_goals, texts.

Bulk writes go through steerdsl.store.bulk (Arrow), never row by row. The goal order of a
probe is kept in probes.info ("goals"), since probe_goals is keyed by goal name only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from steerdsl.errors import StoreError
from steerdsl.plan.model import SampledProbePlan
from steerdsl.probe.draw import DrawnProbe
from steerdsl.probe.table import ProbeTable, table_from_drawn
from steerdsl.store.bulk import insert_columns
from steerdsl.texts import text_hash


@dataclass(frozen=True)
class StoredProbe:
    probe_hash: str
    name: str
    space_hash: str | None
    auc: float | None
    info: dict[str, Any]
    table: ProbeTable


def _column(values: np.ndarray):
    import pyarrow as pa

    # from_pandas: NaN becomes NULL (inactive goal, unknown raw value)
    return pa.array(np.asarray(values, dtype=np.float64), type=pa.float64(), from_pandas=True)


def save_probe(con, probe_hash: str, name: str, space_hash: str | None, table: ProbeTable, *,
               auc: float | None = None, info: dict[str, Any] | None = None,
               weights: np.ndarray | None = None) -> None:
    """Write a probe under `probe_hash`, replacing what was stored under that hash, in one
    transaction of its own (so call it outside an open transaction). Source texts go to
    `texts` (existing ones are kept). `weights`: each row's sampling weight (NULL without)."""
    import pyarrow as pa

    rows, d = table.n_rows, len(table.goals)
    hashes: dict[str, str] = {}
    row_hashes = []
    for t in table.texts:
        h = hashes.get(t)
        if h is None:
            h = hashes[t] = text_hash(t)
        row_hashes.append(h)

    raw = table.source_raw if table.source_raw is not None else np.full((rows, d), np.nan)
    full_info = {"goals": list(table.goals), **(info or {})}

    con.execute("BEGIN TRANSACTION")
    try:
        for t in ("probes", "probe_rows", "probe_goals"):
            con.execute(f"DELETE FROM {t} WHERE probe_hash = ?", [probe_hash])
        con.execute("INSERT INTO probes VALUES (?, ?, ?, ?, ?, ?)",
                    [probe_hash, name, space_hash, rows, auc, json.dumps(full_info)])
        insert_columns(con, "texts", {"text_hash": list(hashes.values()),
                                      "text": list(hashes.keys())}, on_conflict="ignore")
        insert_columns(con, "probe_rows", {
            "probe_hash": pa.array([probe_hash] * rows, type=pa.string()),
            "row_id": pa.array(np.arange(rows, dtype=np.int32)),
            "text_hash": pa.array(row_hashes, type=pa.string()),
            "text_id": pa.array(table.text_ids, type=pa.string()),
            "weight": _column(np.full(rows, np.nan) if weights is None else weights),
        })
        insert_columns(con, "probe_goals", {
            "probe_hash": pa.array([probe_hash] * (rows * d), type=pa.string()),
            "row_id": pa.array(np.repeat(np.arange(rows, dtype=np.int32), d)),
            "goal": pa.array(np.tile(np.array(table.goals, dtype=object), rows),
                             type=pa.string()),
            "source_raw": _column(raw.reshape(-1)),
            "source": _column(table.source.reshape(-1)),
            "delta": _column(table.delta.reshape(-1)),
            "target": _column(table.target.reshape(-1)),
        })
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def save_drawn_probe(con, probe_hash: str, plan: SampledProbePlan, space_hash: str | None,
                     drawn: DrawnProbe, *, texts: Sequence[tuple[str, str]],
                     raw: Mapping[str, np.ndarray], normalized: Mapping[str, np.ndarray]
                     ) -> ProbeTable:
    """Save a drawn probe over every goal of `normalized` (in its order: the goal space).
    `texts` are the corpus's (text_id, text) pairs and `raw` / `normalized` its per-goal values,
    all indexed like the `sources` matrix given to draw_probe. Returns the rows saved."""
    goals = list(normalized)
    table = table_from_drawn(
        drawn,
        texts=[t for _, t in texts],
        text_ids=[i for i, _ in texts],
        goals=goals,
        source=np.column_stack([normalized[g] for g in goals]),
        source_raw=np.column_stack([raw[g] for g in goals]),
    )
    info = {"kind": "sample", "probe_goals": list(plan.goals), "weighting": plan.weighting,
            "sources": plan.sources, "requests_per_source": plan.requests_per_source,
            "seed": plan.seed}
    # Scaled so an average usable source weighs 1: an unweighted probe's rows all weigh 1.
    usable = int(np.count_nonzero(drawn.weights))
    weights = drawn.weights[drawn.source_index] * usable
    save_probe(con, probe_hash, plan.name, space_hash, table, auc=drawn.auc, info=info,
               weights=weights)
    return table


def save_imported_probe(con, probe_hash: str, name: str, space_hash: str | None,
                        imported: ProbeTable) -> None:
    """Save a probe read from the reference CSV layout (no classifier, so no AUC)."""
    save_probe(con, probe_hash, name, space_hash, imported, info={"kind": "csv"})


def load_probe(con, probe_hash: str) -> StoredProbe:
    """The probe stored under `probe_hash`; StoreError when there is none."""
    head = con.execute("SELECT name, space_hash, n_rows, auc, info FROM probes "
                       "WHERE probe_hash = ?", [probe_hash]).fetchone()
    if head is None:
        raise StoreError(f"no probe with hash {probe_hash} in the store")
    name, space_hash, n_rows, auc, info_json = head
    info = json.loads(info_json) if info_json else {}

    rows = con.execute(
        "SELECT r.row_id, r.text_id, t.text FROM probe_rows r "
        "LEFT JOIN texts t ON t.text_hash = r.text_hash "
        "WHERE r.probe_hash = ? ORDER BY r.row_id", [probe_hash]).fetchall()
    if len(rows) != n_rows or any(r[0] != i for i, r in enumerate(rows)):
        raise StoreError(f"probe {name} ({probe_hash}) is incomplete in the store: "
                         f"{len(rows)} of {n_rows} rows")
    missing = [r[0] for r in rows if r[2] is None]
    if missing:
        raise StoreError(f"probe {name} ({probe_hash}): the texts of rows {missing[:5]} are "
                         "missing from the store's texts table")

    long = con.sql(
        "SELECT row_id, goal, source_raw, source, delta, target FROM probe_goals "
        "WHERE probe_hash = ? ORDER BY row_id, goal", params=[probe_hash]).to_arrow_table()
    goals = list(info.get("goals") or sorted(set(long.column("goal").to_pylist())))
    col = {g: j for j, g in enumerate(goals)}
    row_id = long.column("row_id").to_numpy()
    goal_j = np.array([col.get(g, -1) for g in long.column("goal").to_pylist()], dtype=np.int64)
    if len(long) != n_rows * len(goals) or (goal_j < 0).any():
        raise StoreError(f"probe {name} ({probe_hash}) has inconsistent per-goal rows")
    values = {}
    for field in ("source_raw", "source", "delta", "target"):
        matrix = np.full((n_rows, len(goals)), np.nan)
        matrix[row_id, goal_j] = long.column(field).to_numpy(zero_copy_only=False)
        values[field] = matrix
    source_raw = values["source_raw"]
    table = ProbeTable(
        goals=goals,
        texts=[r[2] for r in rows],
        text_ids=[r[1] for r in rows],
        source=values["source"],
        delta=values["delta"],
        target=values["target"],
        source_raw=None if np.isnan(source_raw).all() else source_raw,
    )
    return StoredProbe(probe_hash=probe_hash, name=name, space_hash=space_hash, auc=auc,
                       info=info, table=table)


def probe_weights(con, probe_hash: str) -> list[float | None]:
    """Each row's sampling weight (None: not stored), in row order."""
    return [w for (w,) in con.execute("SELECT weight FROM probe_rows WHERE probe_hash = ? "
                                      "ORDER BY row_id", [probe_hash]).fetchall()]


def source_text_hashes(con, probe_hash: str) -> set[str] | None:
    """The text hashes of a stored probe's source texts; None when no probe has this hash."""
    if con.execute("SELECT 1 FROM probes WHERE probe_hash = ?", [probe_hash]).fetchone() is None:
        return None
    return {h for (h,) in con.execute(
        "SELECT DISTINCT text_hash FROM probe_rows WHERE probe_hash = ?",
        [probe_hash]).fetchall()}


def current_probes(con) -> dict[str, str]:
    """name -> hash of the probes the views use (their hash is current), by name."""
    rows = con.execute("SELECT name, probe_hash FROM probes "
                       "WHERE probe_hash IN (SELECT stage_hash FROM current) "
                       "ORDER BY name, probe_hash").fetchall()
    return dict(rows)


def probe_row_ids(con, probe_hash: str):
    """The row ids of a stored probe, in order (a numpy int64 array)."""
    import numpy as np

    ids = con.execute("SELECT row_id FROM probe_rows WHERE probe_hash = ? ORDER BY row_id",
                      [probe_hash]).fetchnumpy()["row_id"]
    return np.asarray(ids, dtype=np.int64)


REQUEST_CHUNK = 2000  # probe rows read at once by request_chunks


def request_chunks(con, probe_hash: str, size: int = REQUEST_CHUNK
                   ) -> Iterator[list[tuple[int, str, dict[str, float | None]]]]:
    """(row_id, source text, goal -> delta (None: not asked to move)) of every probe row, in
    row order, `size` rows at a time, read when asked for: what the generate stage asks for,
    in memory bounded at any probe size. Reads through a cursor of its own, so the caller may write to
    `con` between chunks."""
    cur = con.cursor()
    try:
        after = -1
        while True:
            rows = cur.execute(
                "SELECT r.row_id, t.text FROM probe_rows r JOIN texts t USING (text_hash) "
                "WHERE r.probe_hash = ? AND r.row_id > ? ORDER BY r.row_id LIMIT ?",
                [probe_hash, after, size]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            deltas: dict[int, dict[str, float | None]] = {r[0]: {} for r in rows}
            for row_id, goal, delta in cur.execute(
                    "SELECT row_id, goal, delta FROM probe_goals WHERE probe_hash = ? "
                    "AND row_id > ? AND row_id <= ?", [probe_hash, after, last]).fetchall():
                deltas[row_id][goal] = delta
            yield [(row_id, text, deltas[row_id]) for row_id, text in rows]
            after = last
    finally:
        cur.close()
