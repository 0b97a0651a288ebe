"""The goal space: `goal_space`, each goal's normalization bounds under one space hash."""

from __future__ import annotations

from steerdsl.store.bulk import insert_rows


def save_space(con, space_hash: str, rows: list[tuple[int, str, str, float, float]]) -> None:
    """rows: (position, goal, measure_id, lo, hi)."""
    con.execute("DELETE FROM goal_space WHERE space_hash = ?", [space_hash])
    insert_rows(con, "goal_space", ["space_hash", "position", "goal", "measure_id", "lo", "hi"],
                [(space_hash, *r) for r in rows])


def load_bounds(con, space_hash: str) -> dict[str, tuple[float, float]]:
    """goal -> (lo, hi) of a stored space."""
    return {goal: (lo, hi) for goal, lo, hi in con.execute(
        "SELECT goal, lo, hi FROM goal_space WHERE space_hash = ?", [space_hash]).fetchall()}
