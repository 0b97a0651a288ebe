"""The `steerdsl` command: argument parsing and the error boundary.

Each verb lives in steerdsl/commands/<verb>.py with `add_arguments(parser)` and
`run(args) -> int`; modules are imported only for the verb that runs, so `check` and `compile`
never pay for litellm, spaCy or DuckDB.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys

# verb -> (module in steerdsl.commands, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    "check": ("check", "parse and check a spec; every error with its place"),
    "compile": ("compile", "print the execution plan (stages, hashes, counts, what is done)"),
    "run": ("run", "execute a spec; resumable"),
    "query": ("query", "SQL over a store"),
    "report": ("report", "write a self-contained HTML report"),
    "review": ("review", "decide the groundedness verdicts that need a person"),
    "measure": ("measure", "goal-space values of texts"),
    "validate-goals": ("validate_goals", "ask a judge model whether each goal measures what its "
                       "name says"),
    "export-probe": ("export_probe", "write a probe in the reference tool's CSV layout"),
    "export-train": ("export_train", "write a probe as a training set (Parquet and JSONL) for "
                     "fine-tuning elsewhere"),
    "import-reference": ("import_reference", "load results in the reference tool's CSV layout"),
    "fmt": ("fmt", "rewrite specs in the canonical layout (--check for CI)"),
    "init": ("init", "write a small runnable project: a commented spec and a tiny corpus"),
    "lsp": ("lsp", "the language server for editors, over stdio (the lsp extra)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steerdsl", description="Declarative LLM steerability evaluation."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version=f"steerdsl {_version()}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, (module, help_text) in VERBS.items():
        p = sub.add_parser(verb, help=help_text, description=help_text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks")
        p.set_defaults(_module=module)
        # Defining arguments needs the module, but only its light top level: command modules
        # import heavy libraries inside run().
        if verb == _requested_verb():
            _command(module).add_arguments(p)
    return parser


def _requested_verb() -> str | None:
    for arg in sys.argv[1:]:
        if not arg.startswith("-"):
            return arg
    return None


def _command(module: str):
    return importlib.import_module(f"steerdsl.commands.{module}")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("steerdsl")
    except metadata.PackageNotFoundError:
        return "unknown"


class Terminated(KeyboardInterrupt):
    """SIGTERM: stops like Ctrl-C (answers so far are written, the run is recorded as
    interrupted), exit 143 (128 + 15, as shells report a process ended by SIGTERM)."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _on_sigterm(handler):
    """Install a SIGTERM handler; the previous one, or None off the main thread (where Python
    allows no handler: `main()` called from a thread keeps the default)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args()
    if not args.verb:
        parser.print_help()
        return 2
    debug = args.debug
    previous = _on_sigterm(_terminate)
    try:
        code = _command(args._module).run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the boundary, not at exit
    except BrokenPipeError:
        return _output_closed()
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (Terminated)
        word, code = ("terminated", 143) if isinstance(e, Terminated) else ("interrupted", 130)
        print(f"{word}; rerun the same command to continue where it stopped", file=sys.stderr)
        # Everything is stored and closed. The interpreter's last garbage collections over
        # litellm's and spaCy's objects take seconds; a user who stopped the run should not wait.
        gc.freeze()
        return code
    except Exception as e:  # the error boundary: a message, not a traceback
        from steerdsl.errors import SteerError
        from steerdsl.lang.diagnostics import SpecError, printable

        if debug:
            raise
        if "duckdb" in sys.modules:  # a damaged store, where no command expected one
            from steerdsl.store.db import StoreDamaged, damage, out_of_memory

            if (detail := damage(e)) is not None:
                e = StoreDamaged(None, detail)
            e = out_of_memory(e) or e
        if isinstance(e, SpecError):
            print(e.render(), file=sys.stderr)
            return 2
        # Messages quote user text (file names, values): never raw control characters.
        if isinstance(e, SteerError):
            print(printable(f"error: {e}", keep="\n"), file=sys.stderr)
            return e.exit_code
        print(printable(f"internal error: {type(e).__name__}: {e} (rerun with --debug for the "
                        "traceback)", keep="\n"), file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return int(code or 0)


def _output_closed() -> int:
    """The reader of our output went away (`steerdsl ... | head -1`): stop quietly, as Unix
    tools do. stdout now points at /dev/null, so the interpreter's last flush cannot fail too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout has no file descriptor (embedded, tests)
        pass
    return 141  # 128 + SIGPIPE: what a shell reports for a Unix tool stopped by a closed pipe


if __name__ == "__main__":
    sys.exit(main())
