"""`steerdsl report SPEC|DB [SPEC|DB] [-o FILE]`: a self-contained HTML report."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stores", nargs="+", metavar="SPEC|DB",
                        help="a store (.duckdb) or a spec (.steer); give two to compare them")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the HTML (default: <store>.report.html next to "
                             "the first store)")
    parser.add_argument("--force", action="store_true",
                        help="replace FILE even when it is not an HTML page (never a store or "
                             "spec the report reads)")
    parser.add_argument("--raw", action="store_true",
                        help="show the raw metric variants instead of the binned ones")


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    from steerdsl.errors import UsageError
    from steerdsl.report import write_report

    if len(args.stores) > 2:
        raise UsageError("report takes one store (or spec), or two to compare")
    start = time.monotonic()
    out = write_report(args.stores, args.output, "raw" if args.raw else "binned", args.force)
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1024:,.0f} KiB) in {time.monotonic() - start:.1f} s",
          file=sys.stderr)
    return 0
