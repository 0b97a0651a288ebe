"""What LLM judges cost: the `judge_calls` table, one row per answered judge request.

steerdsl.goals.judge hands each judge(...) call's requests to a `record` callable; the runtime
passes one that writes them here (record_judge_calls), and counts them toward the budget when
a run starts (judge_spent).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Protocol

from steerdsl.store.bulk import insert_rows


class JudgeCall(Protocol):
    """A judge request's record (steerdsl.goals.judge.JudgeCall)."""

    measure_id: str
    text_hash: str
    model: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    latency_s: float | None
    deployment: str | None

_COLUMNS = ("measure_id", "text_hash", "model", "prompt_tokens", "completion_tokens", "cost",
            "latency_s", "deployment", "judged_at")


def record_judge_calls(con, calls: Sequence[JudgeCall]) -> int:
    """Append `calls`; returns how many. A cursor of its own: the caller's connection may hold
    an unfinished result (measure_texts reads the cache while judging)."""
    at = datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC
    cur = con.cursor()
    try:
        return insert_rows(cur, "judge_calls", _COLUMNS,
                           [(c.measure_id, c.text_hash, c.model, c.prompt_tokens,
                             c.completion_tokens, c.cost, c.latency_s, c.deployment, at)
                            for c in calls])
    finally:
        cur.close()


def judge_spent(con, measure_ids: Sequence[str]) -> float:
    """USD spent on judging the measures `measure_ids` (unknown prices count as zero)."""
    if not measure_ids:
        return 0.0
    return float(con.execute(
        "SELECT coalesce(sum(cost), 0) FROM judge_calls "
        "WHERE measure_id IN (SELECT unnest($1::VARCHAR[]))",
        [list(dict.fromkeys(measure_ids))]).fetchone()[0])
