"""Scores of answers: `outputs` (per answer and goal, raw and normalized values) and
`scorings` (how the spec counts a generation's truncated answers)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from steerdsl.store.bulk import insert_columns


def record_scoring(con, gen_hash: str, truncated_policy: str) -> None:
    con.execute("INSERT OR REPLACE INTO scorings VALUES (?, ?)", [gen_hash, truncated_policy])


def _to_score(drop_truncated: bool) -> str:
    """The ok answers of a generation (parameter 1) without all their values yet."""
    return (
        "FROM calls c WHERE c.gen_hash = ? "
        "AND c.status = 'ok' AND coalesce((SELECT bool_or(o.raw IS NULL) FROM outputs o "
        "WHERE o.gen_hash = c.gen_hash AND o.row_id = c.row_id AND o.sample = c.sample), "
        "true) "
        # dropped answers are not measured (an LLM judge would charge for them)
        + ("AND NOT steer_truncated(c.finish_reason) " if drop_truncated else ""))


def count_answers_to_score(con, gen_hash: str, *, drop_truncated: bool) -> int:
    # fetchall: a result left unfinished would block the bulk writes (register) after it
    return con.execute("SELECT count(*) " + _to_score(drop_truncated),
                       [gen_hash]).fetchall()[0][0]


def answers_to_score(con, gen_hash: str, *, drop_truncated: bool, size: int = 5000
                     ) -> Iterator[list[tuple[int, int, str]]]:
    """(row_id, sample, answer) of the ok answers without all their values yet, in (row_id,
    sample) order, `size` at a time: each chunk is read when asked for, after the caller
    wrote the values of the one before (the next starts after its last answer)."""
    cur = con.cursor()  # the caller writes through `con` between chunks
    try:
        row, sample = -1, -1
        while True:
            chunk = cur.execute(
                "SELECT c.row_id, c.sample, c.answer " + _to_score(drop_truncated)
                + "AND (c.row_id > ? OR (c.row_id = ? AND c.sample > ?)) "
                "ORDER BY c.row_id, c.sample LIMIT ?",
                [gen_hash, row, row, sample, size]).fetchall()
            if not chunk:
                return
            yield chunk
            row, sample = chunk[-1][0], chunk[-1][1]
    finally:
        cur.close()


def save_outputs(con, gen_hash: str, row_ids: Sequence[int], samples: Sequence[int],
                 values: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """The values of measured answers (row_ids[i], samples[i]): per goal, (raw, normalized),
    one float per answer, NaN where it has none (stored as NULL). A row already there is
    replaced. Built as columns: a score chunk is 5,000 answers times every goal."""
    import pyarrow as pa

    n = len(row_ids)
    goals = list(values)
    raw = np.concatenate([np.asarray(values[g][0], dtype=float) for g in goals])
    val = np.concatenate([np.asarray(values[g][1], dtype=float) for g in goals])
    insert_columns(con, "outputs", {
        "gen_hash": pa.repeat(gen_hash, n * len(goals)),
        "row_id": np.tile(np.asarray(row_ids, dtype=np.int32), len(goals)),
        "sample": np.tile(np.asarray(samples, dtype=np.int32), len(goals)),
        "goal": pa.array(np.repeat(np.array(goals, dtype=object), n), pa.string()),
        "raw": pa.array(raw, mask=np.isnan(raw)),
        "value": pa.array(val, mask=np.isnan(val)),
    }, on_conflict="replace")
