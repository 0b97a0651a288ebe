"""Files the verbs write (the HTML report, an exported probe CSV).

Every such verb goes through `check_output` before its work and `write_output` to write:
never over one of its own inputs (the store, the spec), over an existing file of another kind
only with --force, and a clear message when the place cannot be written. Writing goes to a
temporary file beside the target that then replaces it, so a failed write leaves the old file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from steerdsl.errors import RunError, UsageError


@dataclass(frozen=True)
class OutputKind:
    name: str                        # "the report" in messages
    noun: str                        # "an HTML report": what an existing file must be
    is_own: Callable[[Path], bool]   # an existing file of this kind (it may be replaced)


def check_output(path: str | Path, kind: OutputKind, *, inputs: Sequence[str | Path],
                 force: bool = False) -> Path:
    """The output path, or UsageError / RunError saying why it must not or cannot be written."""
    path = Path(path)
    for given in inputs:
        if _same_file(path, Path(given)):
            raise UsageError(f"refusing to write {kind.name} over {path}: it is an input of "
                             "this command; choose another -o")
    if path.is_dir():
        raise RunError(f"cannot write {kind.name} to {path}: it is a folder; give a file name")
    if path.exists() and not force and not _replaceable(path, kind):
        raise UsageError(f"{path} exists and is not {kind.noun}: choose another -o, or add "
                         "--force to replace it")
    return path


def write_output(path: Path, kind: OutputKind, write: Callable[[Path], None]) -> None:
    """`write(temporary)` fills a file beside `path`, which then replaces `path`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write(temporary)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as e:
        raise RunError(f"cannot write {kind.name} to {path}: {e.strerror or e}") from None


def head_text(path: Path, size: int = 65536) -> str:
    """The file's first bytes as text (UTF-8, BOM dropped, undecodable bytes replaced); empty
    when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(size).decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def _replaceable(path: Path, kind: OutputKind) -> bool:
    try:
        empty = path.is_file() and path.stat().st_size == 0
    except OSError:
        empty = False
    return empty or kind.is_own(path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False
