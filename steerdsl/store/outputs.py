"""Scores of answers: `outputs` (per answer and goal, raw and normalized values) and
`scorings` (how the spec counts a generation's truncated answers)."""

from __future__ import annotations

from collections.abc import Iterator

from steerdsl.store.bulk import insert_rows


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


def save_outputs(con, rows: list[tuple]) -> None:
    """rows: (gen_hash, row_id, sample, goal, raw, value); a row already there is replaced."""
    insert_rows(con, "outputs", ["gen_hash", "row_id", "sample", "goal", "raw", "value"], rows,
                on_conflict="replace")
