"""`steerdsl import-reference RESULTS.csv --db DB [--model NAME] [--intervention NAME]
[--probe NAME]`: load results in the reference tool's CSV layout into a store, as one model x
intervention, so the store's SQL views score them like any run (docs/sql.md)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS.csv",
                        help="text, source_<g>, delta_<g>, target_<g>, output_<g> columns "
                             "(optional output_text, raw <g> columns; others are kept)")
    parser.add_argument("--db", required=True, metavar="DB",
                        help="the store (.duckdb) to import into; created when missing")
    parser.add_argument("--model", metavar="NAME",
                        help="the model's name (default: the file's name without .csv)")
    parser.add_argument("--intervention", default="reference", metavar="NAME",
                        help="the intervention's name (default: reference)")
    parser.add_argument("--probe", default="reference", metavar="NAME",
                        help="the probe's name (default: reference); imports of the same probe "
                             "under one name share it")


def run(args: argparse.Namespace) -> int:
    import sys

    from steerdsl.errors import StoreError
    from steerdsl.store.db import open_store
    from steerdsl.store.owner import IMPORTS, claim, conflict
    from steerdsl.reference.imports import import_reference
    from steerdsl.store.summary import format_summary
    from steerdsl.words import count

    args.model = args.model or _model_from_file_name(args.results)
    con = open_store(args.db)
    try:
        # A spec's run would hide imports from its views: refuse a spec's store before
        # writing, and mark the store as holding imports once one succeeded.
        if (problem := conflict(con, args.db, IMPORTS)) is not None:
            raise StoreError(problem)
        done = import_reference(con, args.results, model=args.model,
                                intervention=args.intervention, probe=args.probe)
        claim(con, args.db, IMPORTS)
        summary = format_summary(con)
    finally:
        con.close()
    failed = done.rows - done.ok
    print(f"imported {count(done.rows, 'row')} x {count(len(done.goals), 'goal')} "
          f"({', '.join(done.goals)}) as "
          f"{args.model}/{args.intervention} over probe {done.probe_name} into {args.db}"
          + (f"; {count(failed, 'row')} without output values count as failed calls"
             if failed else ""),
          file=sys.stderr)
    if done.extra_columns:
        print(f"kept extra columns in the generation's settings: "
              f"{', '.join(done.extra_columns)}", file=sys.stderr)
    if done.orphaned:
        print(f"warning: probe {done.probe_name} now means this file's probe; "
              f"{', '.join(done.orphaned)} (over the previous one) no longer count in the views. "
              "Use --probe to give different probes different names.", file=sys.stderr)
    print(summary)
    return 0


def _model_from_file_name(results: str) -> str:
    from pathlib import Path

    from steerdsl.errors import UsageError
    from steerdsl.reference.imports import NAME, NAME_RULE

    stem = Path(results).stem
    if not NAME.match(stem):
        raise UsageError(f"the file name {stem!r} is not a model name ({NAME_RULE}): "
                         "give one with --model NAME")
    return stem
