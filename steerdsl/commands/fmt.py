"""`steerdsl fmt FILE... [--check] [--diff]`: rewrite specs in the canonical layout.

--check changes nothing and exits 1 naming the files that would change (for CI and
pre-commit); --diff prints what would change as a unified diff instead of writing it. A
folder means the .steer files under it; `-` formats standard input to standard output (for
editors). A spec with a syntax error is reported as `check` reports it, and the other files
are still formatted; the exit code is then 2.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help=".steer files or folders of them; - for standard input")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and name the files that would change")
    parser.add_argument("--diff", action="store_true",
                        help="write nothing; print the changes as a unified diff")


def run(args: argparse.Namespace) -> int:
    from steerdsl.errors import UsageError
    from steerdsl.lang.diagnostics import SpecError

    if args.files == ["-"]:
        return _stdin()
    if "-" in args.files:
        raise UsageError("- (standard input) cannot be mixed with files")
    failed, changed, same = 0, [], 0
    for path in _expand(args.files):
        try:
            old, new = _format_file(path)
        except SpecError as e:
            print(e.render(), file=sys.stderr)
            failed += 1
            continue
        if old == new:
            same += 1
            continue
        changed.append(path)
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                f"a/{path}", f"b/{path}"))
        if args.check:
            print(f"would reformat {path}", file=sys.stderr)
        elif not args.diff:
            Path(path).write_text(new, encoding="utf-8", newline="")
            print(f"reformatted {path}", file=sys.stderr)
    _summary(len(changed), same, failed, args.check or args.diff)
    if failed:
        return 2
    return 1 if args.check and changed else 0


def _expand(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        p = Path(name)
        out += sorted(str(f) for f in p.rglob("*.steer")) if p.is_dir() else [name]
    return out


def _format_file(path: str) -> tuple[str, str]:
    """The file's text as it is and as formatted; SpecError as `check` would raise it."""
    from steerdsl.lang import load_tree
    from steerdsl.lang.diagnostics import SpecError
    from steerdsl.lang.format import format_source
    from steerdsl.lang.parser import read_source

    source, diags = read_source(path)
    if diags:
        raise SpecError(diags, source if source.text else None)
    try:
        new = format_source(source.text, source.path)
    except SpecError:
        load_tree(path)  # raises with every error of the file, as `check` shows them
        raise
    return Path(path).read_bytes().decode("utf-8"), new


def _stdin() -> int:
    from steerdsl.lang.format import format_source

    sys.stdout.write(format_source(sys.stdin.read(), "<stdin>"))
    return 0


def _summary(changed: int, same: int, failed: int, dry: bool) -> None:
    from steerdsl.words import count

    verb = "would be reformatted" if dry else "reformatted"
    parts = [f"{count(changed, 'file')} {verb}", f"{count(same, 'file')} unchanged"]
    if failed:
        parts.append(f"{count(failed, 'file')} with errors")
    print(", ".join(parts), file=sys.stderr)
