"""`steerdsl validate-goals SPEC --judge MODEL [--pairs N]`: does each goal measure what its
name says? A judge model of the spec compares pairs of corpus texts, and Kendall's tau between
its answers and the goal's values is printed per goal (and stored).

Exit 0 when every drawn pair got an answer, 1 when failed requests, unsent ones or unparsed
answers left results incomplete (the figures are still printed), 2 for usage errors.
"""

from __future__ import annotations

import argparse

DEFAULT_PAIRS = 250


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="a .steer file")
    p.add_argument("--judge", required=True, metavar="MODEL",
                   help="a model block of the spec that answers the questions")
    p.add_argument("--pairs", type=int, default=DEFAULT_PAIRS, metavar="N",
                   help=f"pairs of corpus texts to compare (default {DEFAULT_PAIRS})")


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    import steerdsl
    from steerdsl.errors import UsageError
    from steerdsl.lang.diagnostics import printable
    from steerdsl.run.goal_validation import validate_goals

    if args.pairs < 1:
        raise UsageError("--pairs must be at least 1")
    if not Path(args.spec).is_file():
        raise UsageError(f"no such spec: {args.spec}")
    plan = steerdsl.load(args.spec).plan()
    result = validate_goals(plan, args.judge, args.pairs,
                            note=lambda msg: print(printable(f"note: {msg}"), file=sys.stderr))
    print(f"judge {result.judge}, corpus {result.corpus} ({result.texts} distinct texts): "
          f"{result.cached} answers cached, {result.asked} asked now")
    print(_table(result.agreements))
    problems = _incomplete(result)
    if problems:
        print(printable(f"error: results incomplete: {problems}"), file=sys.stderr)
        return 1
    return 0


def _incomplete(result) -> str:
    parts = []
    if result.failed:
        parts.append(f"{result.failed} requests failed (a rerun asks them again)")
    if result.not_sent:
        parts.append(f"{result.not_sent} requests not sent ({result.stopped})")
    if result.unparsed:
        parts.append(f"{result.unparsed} answers were not A, B or Tie (stored in "
                     "validation_answers)")
    if not parts and any(not a.complete for a in result.agreements):
        parts.append("some pairs have a text without a value")
    return "; ".join(parts)


def _table(agreements) -> str:
    import math

    header = ["goal", "question", "tau", "pairs", "answered", "unparsed", "missing",
              "judge ties", "goal ties"]
    body = [[a.goal, a.question, "n/a" if math.isnan(a.tau) else f"{a.tau:+.3f}",
             *(str(n) for n in (a.pairs, a.answered, a.unparsed, a.missing, a.judge_ties,
                                a.goal_ties))]
            for a in agreements]
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
                     for r in [header, *body])
