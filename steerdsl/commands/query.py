"""`steerdsl query SPEC|DB "SQL" [--csv | --json]`: plain SQL over a store (docs/sql.md).

The store opens read-only, so a query never changes it and several can run at once; unless
--allow-files, the SQL cannot reach other files or the network. Exit codes: 0 success; 1 the
store is missing or in use by a running `steerdsl run`; 2 a mistake in the SQL or the
arguments; 130 interrupted.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", metavar="SPEC|DB",
                        help="a store (.duckdb) or a spec (.steer) naming its store")
    parser.add_argument("sql", metavar="SQL",
                        help='one SQL statement, e.g. "SELECT * FROM summary"')
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="print CSV (header, full precision)")
    fmt.add_argument("--json", action="store_true", help="print a JSON array of objects")
    parser.add_argument("--allow-files", action="store_true",
                        help="let the SQL read and write files and use the network (COPY ... "
                             "TO, read_csv, ATTACH, INSTALL); off by default: the SQL sees only "
                             "the store")
    parser.add_argument("--limit", type=int, default=100, metavar="N",
                        help="rows shown in the table (default 100; 0 = all); "
                             "--csv and --json print all rows")


def run(args: argparse.Namespace) -> int:
    import sys

    from steerdsl.errors import UsageError
    from steerdsl.report import resolve_store
    from steerdsl.store.db import store_errors
    from steerdsl.store.query import open_for_query, run_query, to_csv, to_json, to_table

    if not args.sql.strip():
        raise UsageError("empty SQL: give a statement, e.g. \"SELECT * FROM summary\"")
    if args.limit < 0:
        raise UsageError("--limit must be 0 (all rows) or more")
    store = resolve_store(args.store)
    con = open_for_query(store, any_duckdb_file=True, allow_files=args.allow_files)
    try:
        with store_errors(store):
            result = run_query(con, args.sql)
    except KeyboardInterrupt:
        print("interrupted: the query stopped; the store is unchanged", file=sys.stderr)
        return 130
    finally:
        con.close()
    if args.json:
        text = to_json(result)
    elif args.csv:
        text = to_csv(result).rstrip("\n")
    else:
        text = to_table(result, args.limit or None)
    sys.stdout.write(text + "\n")
    return 0
