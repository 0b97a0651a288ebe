"""`steerdsl run SPEC`: execute a spec; rerunning continues where it stopped."""

from __future__ import annotations

import argparse
import sys

from steerdsl.run.runner import STAGE_ORDER


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="a .steer file")
    p.add_argument("--until", choices=STAGE_ORDER,
                   help="stop after this stage kind (e.g. --until probe calls no model)")
    p.add_argument("--retry-errors", action="store_true",
                   help="request again the calls that failed in earlier runs, and measure "
                        "again the values of Python and judge goals that failed")
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
    if result.failed_calls:
        n = result.failed_calls
        print(f"{count(n, 'request')} failed; rerun with --retry-errors to retry "
              f"{'it' if n == 1 else 'them'}", file=sys.stderr)
    if result.unscored:
        print(unscored_message(result), file=sys.stderr)
        return 1
    return 0


def unscored_message(result) -> str:
    """Why answers have no scores, and what to do about it."""
    from steerdsl.words import count

    text = f"incomplete: {count(result.unscored, 'answer')} without scores"
    if result.failed_measurements:
        return text + (f": {count(result.failed_measurements, 'value')} could not be measured "
                       "(errors in the measurements table); --retry-errors measures failed "
                       "Python and judge values again")
    return text + " (values of their probe rows are missing; see the answers view)"
