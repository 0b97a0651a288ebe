"""What a store holds when it has no scored answers yet: which stages of its latest run are
done, its calls per model x intervention, and what to do next (for `steerdsl report`)."""

from __future__ import annotations

import json

from steerdsl.store.stages import done_hashes


def no_results_message(con, path: str) -> str:
    """A message for a store without scored answers: what is there and what is missing."""
    lines = [f"the store {path} has no results yet (no scored answers):"]
    run = con.execute("SELECT status, plan FROM runs ORDER BY started_at DESC NULLS LAST "
                      "LIMIT 1").fetchone()
    if run is not None:
        status, plan = run
        stages = [(s["id"], s["hash"]) for s in json.loads(plan or "{}").get("stages", [])]
        done = done_hashes(con)
        finished = [i for i, h in stages if h in done]
        missing = [i for i, h in stages if h not in done]
        lines += [f"  last run: {status}",
                  f"  stages done: {', '.join(finished) or 'none'}",
                  f"  stages not done: {', '.join(missing) or 'none'}"]
    calls = con.execute("SELECT model, intervention, calls, ok, errors FROM calls_summary "
                        "ORDER BY model, intervention").fetchall()
    lines += [f"  calls of {m}/{i}: {ok} ok, {errors} failed" for m, i, _, ok, errors in calls]
    if any(ok for *_, ok, _ in calls):
        lines.append("the answers are stored but not scored: run the spec again to score them "
                     "(`steerdsl run SPEC`)")
    elif any(n for _, _, n, _, _ in calls):
        lines.append("every call failed: see why with `steerdsl query "
                     f"{path} \"SELECT error, count(*) FROM calls WHERE status = 'error' "
                     "GROUP BY ALL\"`, then `steerdsl run SPEC --retry-errors`")
    else:
        lines.append("no model was called yet: run the spec (`steerdsl run SPEC`), or import "
                     "results (`steerdsl import-reference`)")
    return "\n".join(lines)
