"""The goal space in the store (table goal_space): each goal's normalization bounds as the
space stage resolved them, keyed by the space stage's hash."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from steerdsl.store.bulk import insert_rows


def save_space(con, space_hash: str,
               rows: Sequence[tuple[int, str, str, float, float]]) -> None:
    """Store the bounds of a space, replacing what was stored under `space_hash`; `rows` are
    (position, goal, measure_id, lo, hi)."""
    con.execute("DELETE FROM goal_space WHERE space_hash = ?", [space_hash])
    insert_rows(con, "goal_space", ["space_hash", "position", "goal", "measure_id", "lo", "hi"],
                [(space_hash, *row) for row in rows])


def load_bounds(con, space_hash: str, measure_ids: Mapping[str, str] | None = None
                ) -> dict[str, tuple[float, float]]:
    """goal -> (lo, hi) of the space stored under `space_hash` ({} when there is none). With
    `measure_ids` (goal -> GoalPlan.measure_id), only the goals stored with that measure."""
    rows = con.execute("SELECT goal, measure_id, lo, hi FROM goal_space WHERE space_hash = ? "
                       "ORDER BY position", [space_hash]).fetchall()
    return {goal: (lo, hi) for goal, measure_id, lo, hi in rows
            if measure_ids is None or measure_ids.get(goal) == measure_id}
