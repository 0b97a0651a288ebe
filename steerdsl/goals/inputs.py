"""Texts given to `steerdsl measure`: literal arguments, stdin, .txt and .jsonl files.

A text that cannot be read (invalid UTF-8, a bad JSON line) becomes an item with an error and
its id, so the other texts are still measured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from steerdsl.errors import UsageError

TXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# A blank line (possibly holding spaces or tabs) separates the texts of a .txt file.
_BLANK = re.compile(rb"\r?\n[ \t\r]*\r?\n")


@dataclass(frozen=True)
class InputText:
    text_id: str
    text: str | None  # None when it could not be read
    error: str | None = None


def read_inputs(args: list[str], stdin=None,
                note: Callable[[str], None] | None = None) -> list[InputText]:
    """Each argument is "-" (stdin, one text), a .txt/.jsonl file, or a literal text, decided
    by what exists: an existing file is read, a folder is an error, anything else is a text.
    `note` hears which an argument was taken as, when it could have been either (every file;
    a text without whitespace, which could have been a mistyped path)."""
    items: list[InputText] = []
    literal = 0
    for arg in args:
        if arg == "-":
            if stdin is None:
                import sys

                stdin = sys.stdin.buffer
            items.append(_decode("stdin", stdin.read()))
            continue
        path = Path(arg)
        kind = _path_kind(path) if _looks_like_path(arg) else None
        if kind == "file":
            found = read_file(path)
            if note is not None:
                note(f"measuring the file {arg} ({len(found)} "
                     f"text{'s' if len(found) != 1 else ''})")
            items.extend(found)
        elif kind == "folder":
            raise UsageError(f"{arg} is a folder, not a file: name its files instead "
                             f"(for example {Path(arg) / '*.txt'})")
        elif _looks_like_path(arg) and path.suffix.lower() in TXT_SUFFIXES + JSONL_SUFFIXES:
            raise UsageError(f"no such file: {arg}")
        else:
            literal += 1
            if note is not None and arg.strip() and not any(c.isspace() for c in arg):
                note(f"measuring the text given as argument: {arg!r} (no file of that name)")
            items.append(InputText(f"arg{literal}", arg))
    return items


def _path_kind(path: Path) -> str | None:
    """"file", "folder" or None (nothing there, or a name the OS cannot hold)."""
    try:
        if path.is_dir():
            return "folder"
        if path.exists():
            return "file"
    except (OSError, ValueError):
        pass
    return None


def _looks_like_path(arg: str) -> bool:
    return "\n" not in arg and len(arg) < 4096


def read_file(path: Path) -> list[InputText]:
    suffix = path.suffix.lower()
    if suffix not in TXT_SUFFIXES + JSONL_SUFFIXES:
        raise UsageError(
            f"{path}: unsupported file type '{suffix or '(none)'}': use .txt (texts separated "
            "by blank lines) or .jsonl (one JSON object with a \"text\" field per line)"
        )
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    items = _read_jsonl(path, data) if suffix in JSONL_SUFFIXES else _read_txt(path, data)
    if not items:
        raise UsageError(f"{path} holds no text")
    return items


def _decode(text_id: str, raw: bytes) -> InputText:
    try:
        return InputText(text_id, raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        return InputText(text_id, None, f"invalid UTF-8 at byte {e.start} of the text")


def _read_txt(path: Path, data: bytes) -> list[InputText]:
    """Blocks separated by blank lines; ids are path:line of the block's first line."""
    items = []
    pos = 0
    for sep in [*_BLANK.finditer(data), None]:
        end = sep.start() if sep else len(data)
        block = data[pos:end]
        if block.strip():
            lead = len(block) - len(block.lstrip())
            line = data.count(b"\n", 0, pos + lead) + 1
            items.append(_decode(f"{path}:{line}", block.strip()))
        if sep:
            pos = sep.end()
    return items


def _read_jsonl(path: Path, data: bytes) -> list[InputText]:
    """One object per non-empty line with a string `text` (and optionally an `id`)."""
    items = []
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        item = _decode(where, raw)
        if item.text is None:
            items.append(item)
            continue
        try:
            obj = json.loads(item.text)
        except json.JSONDecodeError as e:
            items.append(InputText(where, None, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            items.append(InputText(where, None, 'needs an object with a string "text" field'))
            continue
        text_id = str(obj["id"]) if obj.get("id") is not None else where
        items.append(InputText(text_id, obj["text"]))
    return items
