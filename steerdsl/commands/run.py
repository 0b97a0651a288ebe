"""`steerdsl run SPEC`: execute a spec; rerunning continues where it stopped.

Exit codes: 0 everything asked was done; 1 the run is incomplete (failed calls) or failed
(an unreachable model, a run error, the budget); 2 a spec or usage error; 130 interrupted;
143 terminated (SIGTERM)."""

from __future__ import annotations

import argparse
import sys

from steerdsl.errors import UsageError
from steerdsl.lang.rules import ray_address_problem
from steerdsl.plan.keys import STAGE_KINDS
from steerdsl.words import count


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="a .steer file")
    p.add_argument("--until", choices=STAGE_KINDS,
                   help="stop after this stage kind (e.g. --until probe calls no model)")
    p.add_argument("--retry-errors", action="store_true",
                   help="request again the calls that failed in earlier runs, and measure "
                        "again the values of Python and judge goals that failed")
    p.add_argument("--no-wait", action="store_true",
                   help="submit the batch jobs of `batch on` models and return without "
                        "waiting for them; a later run collects their answers")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="measure and score on a Ray cluster: 'auto' (the cluster this machine "
                        "is part of), HOST:PORT of its head node, or ray://HOST:PORT; "
                        "overrides the spec's `executor ray`; needs pip install steerdsl[ray]")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    import steerdsl
    from steerdsl.run.runner import run_plan
    from steerdsl.store.db import store_errors

    if args.ray is not None:
        problem = ray_address_problem(args.ray)
        if problem:
            raise UsageError(f"--ray: {problem}")
    plan = steerdsl.load(args.spec).plan()
    with store_errors(plan.experiment.store):
        result = run_plan(plan, until=args.until, retry_errors=args.retry_errors,
                          quiet=args.quiet, wait=not args.no_wait, ray=args.ray)
    if result.summary:
        print(result.summary)
    if result.status == "budget":
        print(result.budget_message, file=sys.stderr)
        return 1
    code = 0
    failed = result.failed_calls
    calls = f"{count(failed, 'call')} failed"
    if result.status == "failed":
        models = ", ".join(result.unreachable)
        also = f"; {calls}" if failed else ""
        print(f"run failed: could not connect to model {models}{also} (see above); "
              "everything answered so far is stored", file=sys.stderr)
        code = 1
    elif failed:
        print(f"run incomplete: {calls} (see above); everything answered so far is stored",
              file=sys.stderr)
        code = 1
    if result.batch_jobs_open:
        print(f"run incomplete: {count(result.batch_jobs_open, 'batch job')} still at the "
              "provider; run the same command again later to collect the answers",
              file=sys.stderr)
        return 1
    if result.unscored:
        print(unscored_message(result), file=sys.stderr)
        code = 1
    return code


def unscored_message(result) -> str:
    """Why answers have no scores, and what to do about it."""
    text = f"incomplete: {count(result.unscored, 'answer')} without scores"
    if result.failed_measurements:
        return text + (f": {count(result.failed_measurements, 'value')} could not be measured "
                       "(errors in the measurements table); --retry-errors measures failed "
                       "Python and judge values again")
    return text + " (values of their probe rows are missing; see the answers view)"
