"""Table `stage_runs`: each stage a run ran, its wall time and what it went through (texts
measured, calls made), so throughput per stage is a query; and the counts of calls a
stage made since it started (the generate and judge stages write them as they go)."""

from __future__ import annotations

from datetime import datetime


def record_stage_run(con, run_id: str, stage: str, stage_hash: str, seconds: float,
                     items: int | None, unit: str | None, cpu_seconds: float) -> None:
    con.execute(
        "INSERT INTO stage_runs (run_id, stage, stage_hash, seconds, items, unit, cpu_seconds, "
        "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, now())",
        [run_id, stage, stage_hash, seconds, items, unit, cpu_seconds])


def calls_since(con, gen_hash: str, since: datetime) -> int:
    """Calls of a generation stored (answered or failed) at or after `since` (UTC)."""
    return con.execute("SELECT count(*) FROM calls WHERE gen_hash = ? AND finished_at >= ?",
                       [gen_hash, since]).fetchone()[0]


def verdicts_since(con, judge_id: str, since: datetime) -> int:
    """Groundedness verdicts of a judge stored at or after `since` (UTC)."""
    return con.execute("SELECT count(*) FROM verdicts WHERE judge_id = ? AND judged_at >= ?",
                       [judge_id, since]).fetchone()[0]


def stage_runs_of(con, run_id: str) -> list[tuple[str, float, int | None, str | None]]:
    """(stage, seconds, items, unit) of a run's stages, in the order they ran."""
    return con.execute("SELECT stage, seconds, items, unit FROM stage_runs WHERE run_id = ? "
                       "ORDER BY finished_at, stage", [run_id]).fetchall()
