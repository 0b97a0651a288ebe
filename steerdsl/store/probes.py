"""Writing and reading probes in the store: tables probes, probe_rows, probe_goals, texts.

Bulk writes go through steerdsl.store.bulk (Arrow), never row by row. The goal order of a
probe is kept in probes.info ("goals"), since probe_goals is keyed by goal name only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from steerdsl.errors import StoreError
from steerdsl.plan.model import SampledProbePlan
from steerdsl.probe.draw import DrawnProbe
from steerdsl.probe.table import ProbeTable, table_from_drawn
from steerdsl.store.bulk import insert_columns, transaction
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


WRITE_CHUNK = 20_000  # probe rows written at once, in a transaction of their own


@dataclass(frozen=True)
class _RowChunk:
    """Columns of probe rows start..start+len: per row, and per (row, goal) in goal order."""

    start: int
    text_hash: Any  # pyarrow string array
    text_id: Any  # pyarrow string array
    weight: np.ndarray
    source_raw: np.ndarray  # (rows, d)
    source: np.ndarray
    delta: np.ndarray
    target: np.ndarray


def _write_probe(con, probe_hash: str, name: str, space_hash: str | None, goals: list[str],
                 n_rows: int, texts: dict[str, str], chunks: Iterator[_RowChunk], *,
                 auc: float | None, info: dict[str, Any]) -> None:
    """Replace what is stored under `probe_hash` by these rows, `chunks` written one after
    the other, each in a transaction of its own (so call it outside an open transaction).

    One transaction for a whole probe held all its rows, and their primary-key index entries,
    in DuckDB's memory until the commit: beyond about 200,000 rows it needed more than a run's
    128 MB. The `probes` row goes in last: a probe is listed only once all its rows are
    stored. A run stopped before leaves rows without it, which writing the probe again (the
    stage is not done) deletes first."""
    import pyarrow as pa

    d = len(goals)
    goal_names = pa.array(goals, type=pa.string())
    with transaction(con):
        for t in ("probes", "probe_rows", "probe_goals"):
            con.execute(f"DELETE FROM {t} WHERE probe_hash = ?", [probe_hash])
        insert_columns(con, "texts", {"text_hash": list(texts), "text": list(texts.values())},
                       on_conflict="ignore")
    for c in chunks:
        with transaction(con):
            rows = len(c.weight)
            row_id = np.arange(c.start, c.start + rows, dtype=np.int32)
            insert_columns(con, "probe_rows", {
                "probe_hash": pa.repeat(pa.scalar(probe_hash, pa.string()), rows),
                "row_id": pa.array(row_id),
                "text_hash": c.text_hash,
                "text_id": c.text_id,
                "weight": _column(c.weight),
            })
            insert_columns(con, "probe_goals", {
                "probe_hash": pa.repeat(pa.scalar(probe_hash, pa.string()), rows * d),
                "row_id": pa.array(np.repeat(row_id, d)),
                "goal": goal_names.take(pa.array(np.tile(np.arange(d), rows))),
                "source_raw": _column(c.source_raw.reshape(-1)),
                "source": _column(c.source.reshape(-1)),
                "delta": _column(c.delta.reshape(-1)),
                "target": _column(c.target.reshape(-1)),
            })
    with transaction(con):
        con.execute("INSERT INTO probes VALUES (?, ?, ?, ?, ?, ?)",
                    [probe_hash, name, space_hash, n_rows, auc,
                     json.dumps({"goals": goals, **info})])


def save_probe(con, probe_hash: str, name: str, space_hash: str | None, table: ProbeTable, *,
               auc: float | None = None, info: dict[str, Any] | None = None,
               weights: np.ndarray | None = None) -> None:
    """Write a probe under `probe_hash`, replacing what was stored under that hash, in
    transactions of its own (so call it outside an open transaction; see _write_probe).
    Source texts go to `texts` (existing ones are kept). `weights`: each row's sampling
    weight (NULL without)."""
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
    weights = np.full(rows, np.nan) if weights is None else np.asarray(weights)

    def chunks() -> Iterator[_RowChunk]:
        for a in range(0, rows, WRITE_CHUNK):
            b = min(rows, a + WRITE_CHUNK)
            yield _RowChunk(a, pa.array(row_hashes[a:b], type=pa.string()),
                            pa.array(table.text_ids[a:b], type=pa.string()), weights[a:b],
                            raw[a:b], table.source[a:b], table.delta[a:b], table.target[a:b])

    _write_probe(con, probe_hash, name, space_hash, list(table.goals), rows,
                 {h: t for t, h in hashes.items()}, chunks(), auc=auc, info=info or {})


def write_drawn_probe(con, probe_hash: str, plan: SampledProbePlan, space_hash: str | None,
                      drawn: DrawnProbe, *, texts: Sequence[tuple[str, str]],
                      raw: Mapping[str, np.ndarray], normalized: Mapping[str, np.ndarray]
                      ) -> None:
    """Save a drawn probe over every goal of `normalized` (in its order: the goal space).
    `texts` are the corpus's (text_id, text) pairs and `raw` / `normalized` its per-goal values,
    all indexed like the `sources` matrix given to draw_probe. Rows are built and written
    WRITE_CHUNK at a time from the corpus's columns (numbers and Arrow arrays, never a Python
    object per row), so memory depends on the corpus, not on the probe's size."""
    import pyarrow as pa

    goals = list(normalized)
    d = len(goals)
    idx = drawn.source_index
    # The drawn sources, in the order they first appear in the rows.
    sources, first = np.unique(idx, return_index=True)
    sources = sources[np.argsort(first, kind="stable")]
    hashes = [text_hash(texts[i][1]) for i in sources]
    where = np.zeros(len(texts), dtype=np.int64)
    where[sources] = np.arange(len(sources))
    row_hash = pa.array(hashes, type=pa.string())
    row_text_id = pa.array([texts[i][0] for i in sources], type=pa.string())
    source = np.column_stack([normalized[g] for g in goals]).astype(np.float64)
    source_raw = np.column_stack([raw[g] for g in goals]).astype(np.float64)
    columns = [goals.index(g) for g in drawn.goals]
    # Scaled so an average usable source weighs 1: an unweighted probe's rows all weigh 1.
    scale = int(np.count_nonzero(drawn.weights))

    def chunks() -> Iterator[_RowChunk]:
        for a in range(0, len(idx), WRITE_CHUNK):
            part = idx[a:a + WRITE_CHUNK]
            take = pa.array(where[part])
            delta = np.full((len(part), d), np.nan)
            target = np.full((len(part), d), np.nan)
            delta[:, columns] = drawn.delta[a:a + WRITE_CHUNK]
            target[:, columns] = drawn.target[a:a + WRITE_CHUNK]
            yield _RowChunk(a, row_hash.take(take), row_text_id.take(take),
                            drawn.weights[part] * scale, source_raw[part], source[part], delta,
                            target)

    info = {"kind": "sample", "probe_goals": list(plan.goals), "weighting": plan.weighting,
            "sources": plan.sources, "requests_per_source": plan.requests_per_source,
            "seed": plan.seed}
    _write_probe(con, probe_hash, plan.name, space_hash, goals, len(idx),
                 {h: texts[i][1] for h, i in zip(hashes, sources)}, chunks(), auc=drawn.auc,
                 info=info)


def save_drawn_probe(con, probe_hash: str, plan: SampledProbePlan, space_hash: str | None,
                     drawn: DrawnProbe, *, texts: Sequence[tuple[str, str]],
                     raw: Mapping[str, np.ndarray], normalized: Mapping[str, np.ndarray]
                     ) -> ProbeTable:
    """write_drawn_probe, returning the rows saved as a table (one entry per row: for tests
    and small probes; the probe stage writes without it)."""
    write_drawn_probe(con, probe_hash, plan, space_hash, drawn, texts=texts, raw=raw,
                      normalized=normalized)
    goals = list(normalized)
    return table_from_drawn(drawn, texts=[t for _, t in texts], text_ids=[i for i, _ in texts],
                            goals=goals,
                            source=np.column_stack([normalized[g] for g in goals]),
                            source_raw=np.column_stack([raw[g] for g in goals]))


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


def request_chunks(con, probe_hash: str, size: int | None = None
                   ) -> Iterator[list[tuple[int, str, dict[str, float | None]]]]:
    """(row_id, source text, goal -> delta (None: not asked to move)) of every probe row, in
    row order, `size` rows at a time, read when asked for: what the generate stage asks
    for, in memory bounded at any probe size. Reads through a cursor of its own, so the
    caller may write to `con` between chunks."""
    size = size or REQUEST_CHUNK
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
            yield _with_deltas(cur, probe_hash, rows, "row_id > ? AND row_id <= ?",
                               [after, last])
            after = last
    finally:
        cur.close()


def request_rows(con, probe_hash: str, row_ids: Iterable[int]
                 ) -> list[tuple[int, str, dict[str, float | None]]]:
    """What request_chunks gives, for the probe rows of `row_ids` only, in row order: the rows
    of a batch job's results, read by id when the results are written."""
    ids = sorted({int(i) for i in row_ids})
    if not ids:
        return []
    rows = con.execute(
        "SELECT r.row_id, t.text FROM probe_rows r JOIN texts t USING (text_hash) "
        "WHERE r.probe_hash = ? AND r.row_id IN (SELECT unnest(?::INTEGER[])) "
        "ORDER BY r.row_id", [probe_hash, ids]).fetchall()
    return _with_deltas(con, probe_hash, rows, "row_id IN (SELECT unnest(?::INTEGER[]))",
                        [ids])


def _with_deltas(cur, probe_hash: str, rows: list[tuple[int, str]], where: str, params: list
                 ) -> list[tuple[int, str, dict[str, float | None]]]:
    """`rows` (row_id, text) with each row's goal -> delta, read from probe_goals `where`."""
    deltas: dict[int, dict[str, float | None]] = {r[0]: {} for r in rows}
    for row_id, goal, delta in cur.execute(
            f"SELECT row_id, goal, delta FROM probe_goals WHERE probe_hash = ? AND {where}",
            [probe_hash, *params]).fetchall():
        deltas[row_id][goal] = delta
    return [(row_id, text, deltas[row_id]) for row_id, text in rows]


def row_goals(con, probe_hash: str) -> dict[int, dict[str, tuple[float, float, float | None]]]:
    """row_id -> goal -> (source, target, delta) of every probe row, normalized; an inactive
    goal's target is its source and its delta None."""
    out: dict[int, dict[str, tuple[float, float, float | None]]] = {}
    for row_id, goal, source, target, delta in con.execute(
            "SELECT row_id, goal, source, coalesce(target, source), delta FROM probe_goals "
            "WHERE probe_hash = ?", [probe_hash]).fetchall():
        out.setdefault(row_id, {})[goal] = (source, target, delta)
    return out
