"""Records of corpus files read with the standard library only: JSON Lines and JSON with each
value's own type and the line it starts on, and the csv delimiter taken from the header line.

The corpus reader (steerdsl.corpus.read) and compile's cheap counts (steerdsl.plan.counts) both
read through here, so they see the same records. No DuckDB: its JSON reader types a column by
all of its values (one number among strings turns every text into a JSON string), and its
line numbers and csv sniffing lose the cause of an error.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass

MAX_LISTED = 10  # problems listed in one message; the rest are counted
CSV_DELIMITERS = (",", ";", "\t", "|")

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


class BadRecords(ValueError):
    """Records that cannot be read as asked, each as "line N: what is wrong", in file order."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(describe_problems(problems))
        self.problems = problems


def describe_problems(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_LISTED])
    more = len(problems) - MAX_LISTED
    head = f"{len(problems)} bad record{'s' if len(problems) != 1 else ''}: "
    return head + shown + (f"; and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Record:
    line: int  # 1-based line of the file the record starts on
    text: str | None  # None when the record has no text (or null)
    label: str | None


def read_json_records(data: bytes, fmt: str, text_field: str, label_field: str | None
                      ) -> tuple[list[Record], list[str]]:
    """The records of a .jsonl (one JSON value per non-blank line) or .json file (an array of
    objects, one object, or several objects one after another), and every key seen (in first-
    seen order). Raises BadRecords listing every line whose record is not valid JSON, not an
    object, or whose text is neither a string nor null."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    values = _jsonl_values(data) if fmt == "jsonl" else _json_values(data)
    records: list[Record] = []
    keys: dict[str, None] = {}
    problems: list[str] = []
    for line, value in values:
        if isinstance(value, _Bad):
            problems.append(f"line {line}: {value.message}")
        elif not isinstance(value, dict):
            problems.append(f"line {line}: {_kind(value)}, not an object")
        elif (text := value.get(text_field)) is not None and not isinstance(text, str):
            problems.append(f"line {line}: '{text_field}' is {_kind(text)} "
                            f"({_preview(text)}), not a string")
        else:
            keys.update(dict.fromkeys(value))
            label = _label(value.get(label_field)) if label_field else None
            records.append(Record(line, text, label))
    if problems:
        raise BadRecords(problems)
    return records, list(keys)


def _label(value) -> str | None:
    # Labels only group texts: a number or a boolean is as good a label as a string.
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    return "null"


def _preview(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class _Bad:
    """A line that holds no readable value."""

    message: str


def _jsonl_values(data: bytes) -> Iterator[tuple[int, object]]:
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield n, _Bad(f"not UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})")
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as e:
            yield n, _Bad(f"not valid JSON ({e.msg} at column {e.colno})")


def _json_values(data: bytes) -> Iterator[tuple[int, object]]:
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        yield line, _Bad(f"not UTF-8 (byte 0x{data[e.start]:02x})")
        return
    lines = _LineCounter(s)
    idx = _skip_ws(s, 0)
    try:
        if idx < len(s) and s[idx] == "[":  # an array of records
            idx = _skip_ws(s, (yield from _array_items(s, idx, lines)))
            if idx < len(s):
                raise json.JSONDecodeError("Extra data after the array", s, idx)
            return
        while idx < len(s):  # one record, or several one after another
            value, end = _DECODER.raw_decode(s, idx)
            yield lines.at(idx), value
            idx = _skip_ws(s, end)
    except json.JSONDecodeError as e:
        yield e.lineno, _Bad(f"not valid JSON ({e.msg} at column {e.colno})")


def _array_items(s: str, idx: int, lines: _LineCounter
                 ) -> Generator[tuple[int, object], None, int]:
    """(line, value) of each element of the array starting at s[idx] == "["; returns the
    position after the array; raises JSONDecodeError where the array is malformed."""
    idx = _skip_ws(s, idx + 1)
    if idx < len(s) and s[idx] == "]":
        return idx + 1
    while True:
        value, end = _DECODER.raw_decode(s, idx)
        yield lines.at(idx), value
        idx = _skip_ws(s, end)
        if idx < len(s) and s[idx] == "]":
            return idx + 1
        if idx >= len(s) or s[idx] != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", s, idx)
        idx = _skip_ws(s, idx + 1)


def _skip_ws(s: str, idx: int) -> int:
    while idx < len(s) and s[idx] in _WS:
        idx += 1
    return idx


class _LineCounter:
    """Line numbers of increasing positions, counting newlines once."""

    def __init__(self, s: str) -> None:
        self.s, self.pos, self.line = s, 0, 1

    def at(self, pos: int) -> int:
        self.line += self.s.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def csv_delimiter(header: str) -> str:
    """The delimiter a csv file's header line uses: the most frequent of , ; tab | outside
    quotes, and "," when it has none (one column: its texts may hold any of them)."""
    counts = dict.fromkeys(CSV_DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(CSV_DELIMITERS, key=lambda d: counts[d])  # ties: the earlier, "," first
    return best if counts[best] else ","


def first_line(data: bytes) -> str:
    """The first line of a file (its header, for csv), BOM removed, undecodable bytes replaced."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")


def utf8_problem(data: bytes) -> str | None:
    """Where a file stops being UTF-8 ("line 2, column 4: byte 0xe9"), or None when it is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        return (f"not UTF-8: byte 0x{data[e.start]:02x} on line {line}, column "
                f"{e.start - line_start + 1} (save the file as UTF-8)")
    return None
