"""Scores of answers: `outputs` (per answer and goal, raw and normalized values) and
`scorings` (how the spec counts a generation's truncated answers)."""

from __future__ import annotations

from steerdsl.store.bulk import insert_rows


def record_scoring(con, gen_hash: str, truncated_policy: str) -> None:
    con.execute("INSERT OR REPLACE INTO scorings VALUES (?, ?)", [gen_hash, truncated_policy])


def answers_to_score(con, gen_hash: str, *, drop_truncated: bool) -> list[tuple[int, int, str]]:
    """(row_id, sample, answer) of the ok answers without all their values yet."""
    return con.execute(
        "SELECT c.row_id, c.sample, c.answer FROM calls c WHERE c.gen_hash = ? "
        "AND c.status = 'ok' AND coalesce((SELECT bool_or(o.raw IS NULL) FROM outputs o "
        "WHERE o.gen_hash = c.gen_hash AND o.row_id = c.row_id AND o.sample = c.sample), "
        "true) "
        # dropped answers are not measured (an LLM judge would charge for them)
        + ("AND NOT steer_truncated(c.finish_reason) " if drop_truncated else "")
        + "ORDER BY c.row_id, c.sample", [gen_hash]).fetchall()


def save_outputs(con, rows: list[tuple]) -> None:
    """rows: (gen_hash, row_id, sample, goal, raw, value); a row already there is replaced."""
    insert_rows(con, "outputs", ["gen_hash", "row_id", "sample", "goal", "raw", "value"], rows,
                on_conflict="replace")
