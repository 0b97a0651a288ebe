"""`steerdsl check SPEC`: parse and check; every error with its place; exit 0 or 2."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="the .steer file")


def run(args: argparse.Namespace) -> int:
    from steerdsl.api import load

    spec = load(args.spec)  # SpecError -> the CLI prints every diagnostic, exit 2
    for w in spec.warnings:
        print(w.render(spec.source), file=sys.stderr)
    t = spec.tree
    from steerdsl.lang.symbols import Symbols

    sym = Symbols.of(t)
    print(f"ok: {args.spec}: {len(sym.goals)} goals, {len(sym.corpora)} corpora, "
          f"{len(sym.probes)} probes, {len(sym.models)} models, "
          f"{len(sym.interventions)} interventions")
    return 0
