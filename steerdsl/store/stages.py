"""The bookkeeping of stages in the store: which are done (table stages_done) and which stage
hashes the latest run or import uses (table current, which the views follow).

Stage ids are the plan's (Stage.id): keys here, never built or taken apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def done_hashes(con) -> set[str]:
    """The hashes of every finished stage."""
    return {h for (h,) in con.execute("SELECT stage_hash FROM stages_done").fetchall()}


def is_done(con, stage_hash: str) -> bool:
    return con.execute("SELECT 1 FROM stages_done WHERE stage_hash = ?",
                       [stage_hash]).fetchone() is not None


def mark_done(con, stage_id: str, stage_hash: str, info: dict[str, Any] | None = None) -> None:
    """Record a stage as finished: it is never done again."""
    con.execute("INSERT OR REPLACE INTO stages_done VALUES (?, ?, now(), ?)",
                [stage_hash, stage_id, json.dumps(info or {})])


def mark_not_done(con, stage_hash: str) -> None:
    """Forget that a stage finished (its results turned out incomplete)."""
    con.execute("DELETE FROM stages_done WHERE stage_hash = ?", [stage_hash])


def set_current(con, stage_id: str, stage_hash: str) -> None:
    """Make `stage_hash` the one the views use for the stage `stage_id`."""
    con.execute("INSERT OR REPLACE INTO current VALUES (?, ?)", [stage_id, stage_hash])


def keep_current(con, stage_ids: Sequence[str]) -> None:
    """Forget the current hashes of every stage not in `stage_ids` (their rows stay stored)."""
    con.execute("DELETE FROM current WHERE NOT list_contains(?, stage)", [list(stage_ids)])


def current_hash(con, stage_id: str) -> str | None:
    """The hash the views use for the stage `stage_id`, if any."""
    row = con.execute("SELECT stage_hash FROM current WHERE stage = ?", [stage_id]).fetchone()
    return row[0] if row else None
