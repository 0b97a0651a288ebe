"""`steerdsl review SPEC [--export FILE.csv [--force] | --import FILE.csv]`: a person decides
the groundedness verdicts that need one (every "No", every unparsed verdict, the spot check of
"Yes" verdicts), in the terminal or through a CSV file. Every decision is stored at once, with
its time; a later session resumes at the first undecided item.

Exit codes: 0 done (or nothing to review); 1 the store is missing, in use or another spec's, or
an imported file has problems (nothing recorded); 2 bad arguments, or no terminal for the
interactive review.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the spec (.steer) whose results to review")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--export", metavar="FILE.csv",
                      help="write the items awaiting review to FILE.csv (one row each, an "
                           "empty decision column) instead of reviewing in the terminal")
    mode.add_argument("--import", dest="import_", metavar="FILE.csv",
                      help="record the decisions of a file written by --export (approve, "
                           "reject, or empty to skip); checked whole before anything is written")
    parser.add_argument("--force", action="store_true",
                        help="with --export: replace FILE.csv when it exists")


def run(args: argparse.Namespace) -> int:
    import sys

    import steerdsl
    from steerdsl.errors import StoreError, UsageError
    from steerdsl.store.owner import check_spec_store

    if args.force and not args.export:
        raise UsageError("--force goes with --export")
    spec = Path(args.spec)
    if not spec.is_file():
        raise UsageError(f"no spec at {spec}")
    plan = steerdsl.load(str(spec)).plan()
    check_spec_store(plan)  # another spec's verdicts are not this spec's
    store = Path(plan.experiment.store)
    if not store.is_file():
        raise StoreError(f"no store at {store}: run the spec first (steerdsl run {spec})")
    if args.export:
        return _export(spec, store, Path(args.export), args.force)
    if args.import_:
        return _import(store, Path(args.import_))
    if not sys.stdin.isatty():
        raise UsageError(
            "the review needs a terminal (stdin is not one); review through a file instead: "
            f"`steerdsl review {spec} --export review.csv`, fill in its decision column "
            f"(approve, reject, or empty to skip), then `steerdsl review {spec} --import "
            "review.csv`")
    return _terminal(spec, store)


def _export(spec: Path, store: Path, out: Path, force: bool) -> int:
    from steerdsl.errors import UsageError
    from steerdsl.outputs import check_output, write_output
    from steerdsl.review.decisions_csv import REVIEW_CSV, write_review_csv
    from steerdsl.store.reviews import review_items
    from steerdsl.words import count

    if out.exists() and not out.is_dir() and not force:
        raise UsageError(f"{out} exists: choose another file, or add --force to replace it")
    check_output(out, REVIEW_CSV, inputs=[spec, store], force=True)
    with _opened(store, read_only=True) as con:
        if _nothing_judged(con, spec):
            return 0
        items = review_items(con)
    write_output(out, REVIEW_CSV, lambda tmp: write_review_csv(tmp, items))
    print(f"wrote {count(len(items), 'item')} awaiting review to {out}; fill in the decision "
          f"column (approve, reject, or empty to skip), then `steerdsl review {spec} --import "
          f"{out}`")
    return 0


def _import(store: Path, path: Path) -> int:
    from steerdsl.review.decisions_csv import read_review_csv
    from steerdsl.store.reviews import record_decisions, review_items

    with _opened(store) as con:
        imported = read_review_csv(path, review_items(con, pending_only=False))
        recorded = record_decisions(con, imported.decisions)
        left = len(review_items(con))
    approved = sum(d == "approve" for _, d in imported.decisions)
    print(_recorded(f"from {path} ", approved, recorded - approved,
                    f"{imported.blank} left empty", left))
    return 0


def _terminal(spec: Path, store: Path) -> int:
    from steerdsl.review.terminal import keys_without_enter, review_items_in_terminal
    from steerdsl.store.reviews import review_items

    with _opened(store) as con:
        if _nothing_judged(con, spec):
            return 0
        items = review_items(con)
        if not items:
            print("nothing awaits review: every item is decided")
            return 0
        with keys_without_enter():
            tally = review_items_in_terminal(con, items)
        left = len(review_items(con))
    print(_recorded("", tally.decided["approve"], tally.decided["reject"],
                    f"{tally.skipped} skipped", left))
    return 0


def _recorded(source: str, approved: int, rejected: int, rest: str, left: int) -> str:
    from steerdsl.words import count

    return (f"recorded {count(approved + rejected, 'decision')} {source}({approved} approved, "
            f"{rejected} rejected; {rest}); {count(left, 'item')} still await review")


def _nothing_judged(con, spec: Path) -> bool:
    from steerdsl.store.reviews import grounded_generations

    if grounded_generations(con):
        return False
    print(f"nothing to review: no current results of {spec} are judged for groundedness "
          "(a spec grounds them with `evaluate { ... grounding JUDGE }`, then `steerdsl run`)")
    return True


@contextmanager
def _opened(store: Path, read_only: bool = False) -> Iterator:
    """The store, open (for writing unless read_only), closed again whatever happens."""
    from steerdsl.store.db import open_store, store_errors

    con = open_store(store, read_only=read_only)
    try:
        with store_errors(store):
            yield con
    finally:
        con.close()
