"""`steerdsl run SPEC`: execute a spec; rerunning continues where it stopped.

Exit codes: 0 everything asked was done; 1 the run is incomplete (failed calls) or failed
(an unreachable model, a run error, the budget); 2 a spec or usage error; 130 interrupted;
143 terminated (SIGTERM)."""

from __future__ import annotations

import argparse
import sys

from steerdsl.run.runner import STAGE_ORDER


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="a .steer file")
    p.add_argument("--until", choices=STAGE_ORDER,
                   help="stop after this stage kind (e.g. --until probe calls no model)")
    p.add_argument("--retry-errors", action="store_true",
                   help="request again the calls that failed in earlier runs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    import steerdsl
    from steerdsl.run.runner import run_plan
    from steerdsl.store.db import store_errors
    from steerdsl.words import count

    plan = steerdsl.load(args.spec).plan()
    with store_errors(plan.experiment.store):
        result = run_plan(plan, until=args.until, retry_errors=args.retry_errors,
                          quiet=args.quiet)
    if result.summary:
        print(result.summary)
    if result.status == "budget":
        print(result.budget_message, file=sys.stderr)
        return 1
    failed = result.failed_calls
    calls = f"{count(failed, 'call')} failed"
    if result.status == "failed":
        models = ", ".join(result.unreachable)
        also = f"; {calls}" if failed else ""
        print(f"run failed: could not connect to model {models}{also} (see above); "
              "everything answered so far is stored", file=sys.stderr)
        return 1
    if result.status == "incomplete":
        print(f"run incomplete: {calls} (see above); everything answered so far is stored",
              file=sys.stderr)
        return 1
    return 0
