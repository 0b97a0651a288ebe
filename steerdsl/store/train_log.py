"""Fine-tuning in the store: tables train_log (what training logged, step by step) and
adapters (the finished adapter of each train stage)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from steerdsl.store.bulk import insert_rows


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC


def record_log(con, train_hash: str, step: int, values: Mapping[str, float], run_id: str) -> int:
    """Write one logged step; a step logged again (after resuming) replaces its values."""
    at = _now()
    rows = [(train_hash, step, name, float(v), run_id, at) for name, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return insert_rows(con, "train_log",
                       ("train_hash", "step", "name", "value", "run_id", "logged_at"), rows,
                       on_conflict="replace")


def log_rows(con, train_hash: str) -> list[tuple[int, str, float]]:
    """(step, name, value) of a train stage, by step and name."""
    return con.execute("SELECT step, name, value FROM train_log WHERE train_hash = ? "
                       "ORDER BY step, name", [train_hash]).fetchall()


def forget_log_after(con, train_hash: str, step: int) -> None:
    """Drop what was logged after `step`: training resumes from that step's checkpoint."""
    con.execute("DELETE FROM train_log WHERE train_hash = ? AND step > ?", [train_hash, step])


@dataclass(frozen=True)
class Adapter:
    train_hash: str
    model: str
    intervention: str
    path: str
    steps: int
    seconds: float
    versions: dict[str, str]


def save_adapter(con, a: Adapter) -> None:
    con.execute("INSERT OR REPLACE INTO adapters VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [a.train_hash, a.model, a.intervention, a.path, a.steps, a.seconds,
                 json.dumps(a.versions), _now()])


def adapter_of(con, train_hash: str) -> Adapter | None:
    row = con.execute("SELECT train_hash, model, intervention, path, steps, seconds, versions "
                      "FROM adapters WHERE train_hash = ?", [train_hash]).fetchone()
    if row is None:
        return None
    return Adapter(*row[:6], versions=json.loads(row[6]) if row[6] else {})
