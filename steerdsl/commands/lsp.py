"""`steerdsl lsp`: the language server over stdio (for editors; see docs/editors.md)."""

from __future__ import annotations

import argparse
import importlib.util

from steerdsl.errors import UsageError

INSTALL = ("the language server needs pygls: pip install 'steerdsl[lsp]' (or pip install "
           "'pygls>=2.1,<3')")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true",
                        help="talk over stdin/stdout (the default and only transport; "
                             "accepted because editors pass it)")


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("pygls") is None:
        raise UsageError(INSTALL)
    from steerdsl.lsp.server import serve

    return serve()
