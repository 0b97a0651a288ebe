"""`steerdsl check SPEC`: parse and check; every error with its place; exit 0 or 2."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="the .steer file")


def run(args: argparse.Namespace) -> int:
    from steerdsl.api import load
    from steerdsl.lang.symbols import Symbols
    from steerdsl.words import count

    spec = load(args.spec)  # SpecError -> the CLI prints every diagnostic, exit 2
    for w in spec.warnings:
        print(w.render(spec.source), file=sys.stderr)
    sym = Symbols.of(spec.tree)
    parts = [count(len(sym.goals), "goal"), count(len(sym.corpora), "corpus", "corpora"),
             count(len(sym.probes), "probe"), count(len(sym.models), "model"),
             count(len(sym.interventions), "intervention")]
    print(f"ok: {args.spec}: {', '.join(parts)}")
    return 0
