"""The run ledger: `runs` (one row per `steerdsl run`), `stages_done` (stage hashes finished,
with what they produced) and `current` (which hash each stage id has in the spec as it is now;
the views read it)."""

from __future__ import annotations

import json


def start_run(con, run_id: str, plan, versions: dict[str, str], pid: int, host: str) -> None:
    # `current` describes this spec as it is now: stages of removed or renamed interventions,
    # models and probes drop out of the views (their rows stay stored).
    con.execute("DELETE FROM current WHERE NOT list_contains(?, stage)",
                [[s.id for s in plan.stages]])
    con.execute(
        "INSERT INTO runs (run_id, plan_hash, spec_path, plan, versions, started_at, "
        "finished_at, status, pid, host) VALUES (?, ?, ?, ?, ?, now(), NULL, 'running', ?, ?)",
        [run_id, plan.spec_hash, plan.spec_path, plan.model_dump_json(), json.dumps(versions),
         pid, host],
    )


def finish_run(con, run_id: str, status: str) -> None:
    con.execute("UPDATE runs SET finished_at = now(), status = ? WHERE run_id = ?",
                [status, run_id])


def is_done(con, stage_hash: str) -> bool:
    return con.execute("SELECT 1 FROM stages_done WHERE stage_hash = ?",
                       [stage_hash]).fetchone() is not None


def mark_done(con, stage_hash: str, stage_id: str, info: dict) -> None:
    con.execute("INSERT OR REPLACE INTO stages_done VALUES (?, ?, now(), ?)",
                [stage_hash, stage_id, json.dumps(info)])


def mark_not_done(con, stage_hash: str) -> None:
    con.execute("DELETE FROM stages_done WHERE stage_hash = ?", [stage_hash])


def set_current(con, stage_id: str, stage_hash: str) -> None:
    con.execute("INSERT OR REPLACE INTO current VALUES (?, ?)", [stage_id, stage_hash])
