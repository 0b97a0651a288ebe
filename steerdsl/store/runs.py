"""Table `runs`: one row per `steerdsl run`, with its plan, library versions, executor and
status."""

from __future__ import annotations

import json

from steerdsl.store.stages import keep_current


def start_run(con, run_id: str, plan, versions: dict[str, str], pid: int, host: str,
              executor: str | None = None) -> None:
    # `current` describes this spec as it is now: stages of removed or renamed interventions,
    # models and probes drop out of the views (their rows stay stored).
    keep_current(con, [s.id for s in plan.stages])
    con.execute(
        "INSERT INTO runs (run_id, plan_hash, spec_path, plan, versions, started_at, "
        "finished_at, status, pid, host, executor) "
        "VALUES (?, ?, ?, ?, ?, now(), NULL, 'running', ?, ?, ?)",
        [run_id, plan.spec_hash, plan.spec_path, plan.model_dump_json(), json.dumps(versions),
         pid, host, executor],
    )


def finish_run(con, run_id: str, status: str) -> None:
    con.execute("UPDATE runs SET finished_at = now(), status = ? WHERE run_id = ?",
                [status, run_id])
