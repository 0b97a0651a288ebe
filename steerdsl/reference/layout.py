"""The reference tool's probe CSV layout.

Columns: `text`; the raw goal values `<goal>` (optional); `source_<goal>`, `delta_<goal>`,
`target_<goal>` (normalized; delta and target empty when the goal is inactive). Other columns
are ignored on reading. Floats are written with repr precision, so write then read gives the
same float64 values bit for bit.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from steerdsl.errors import RunError
from steerdsl.probe.table import ImportedProbe, ProbeTable

TOLERANCE = 1e-9  # allowed |target - (source + delta)|
_MAX_REPORTED = 10


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


def reference_columns(goals: Sequence[str], raw: bool) -> list[str]:
    cols = ["text"]
    if raw:
        cols += list(goals)
    for prefix in ("source_", "delta_", "target_"):
        cols += [prefix + g for g in goals]
    return cols


def write_reference_csv(path: str | Path, table: ProbeTable) -> None:
    """Write `table` in the reference layout (raw goal columns when table.source_raw is set)."""
    raw = table.source_raw is not None
    blocks = ([table.source_raw] if raw else []) + [table.source, table.delta, table.target]
    values = np.hstack(blocks) if table.n_rows else np.empty((0, 0))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(reference_columns(table.goals, raw))
        for text, row in zip(table.texts, values.tolist()):
            writer.writerow([text, *map(_fmt, row)])


class Problems:
    """Every problem of a file, reported by row (in row order) and capped at ten lines."""

    def __init__(self, path: Path, what: str = "probe CSV") -> None:
        self.path = path
        self.what = what
        self._found: list[tuple[int, str]] = []

    @property
    def count(self) -> int:
        return len(self._found)

    def add(self, row: int, message: str) -> None:
        self._found.append((row, message))

    def raise_if_any(self) -> None:
        if not self._found:
            return
        ordered = sorted(self._found, key=lambda found: found[0])  # stable: columns in order
        lines = [f"row {row}: {message}" for row, message in ordered[:_MAX_REPORTED]]
        more = self.count - len(lines)
        raise RunError(f"{self.path}: not a valid {self.what}:\n  " + "\n  ".join(lines)
                       + (f"\n  ... and {more} more problems" if more else ""))


# A plain decimal number, as CSV writers write them. Python's float() also takes "1_0",
# non-ASCII digits and surrounding whitespace of any kind: a file is read by this instead.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NON_FINITE = {"nan", "inf", "infinity"}


def parse_number(cell: str, column: str, row: int, problems: Problems) -> float:
    """The cell's float; NaN for an empty cell; a problem (and NaN) when not a finite plain
    decimal number."""
    cell = cell.strip(" \t")
    if not cell:
        return math.nan
    if cell.lstrip("+-").lower() in _NON_FINITE:
        problems.add(row, f"{column} is not a finite number: {cell!r}")
        return math.nan
    if not _NUMBER.fullmatch(cell):
        problems.add(row, f"{column} is not a number: {cell!r}")
        return math.nan
    value = float(cell)
    if not math.isfinite(value):  # 1e999
        problems.add(row, f"{column} is not a finite number: {cell!r}")
        return math.nan
    return value


def read_csv_records(path: Path, what: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a reference-layout CSV file (UTF-8, optional BOM); RunError when it
    is missing, unreadable, empty or has duplicate columns."""
    if not path.is_file():
        raise RunError(f"{what} not found: {path}")
    # Source texts can be long; the csv module's default cap is 128 KiB per field.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            records = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise RunError(f"{path}: cannot read as a UTF-8 CSV file: {e}") from None
    if not records:
        raise RunError(f"{path}: the file is empty (expected a header row)")
    header = records[0]
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        raise RunError(f"{path}: duplicate columns: {', '.join(duplicates)}")
    return header, records[1:]


def read_reference_csv(path: str | Path, goals: Sequence[str]) -> ImportedProbe:
    """A probe from the reference layout over `goals`; RunError listing the problems (missing
    columns, non-numbers, values outside [0, 1], a delta without a target, target !=
    source + delta beyond 1e-9). Rows are numbered from 1 (the header is not a row)."""
    path = Path(path)
    header, body = read_csv_records(path, "probe CSV")
    problems = Problems(path)
    table = parse_reference_rows(path, header, body, list(goals), problems)
    problems.raise_if_any()
    return table


def parse_reference_rows(path: Path, header: list[str], body: list[list[str]],
                         goals: list[str], problems: Problems) -> ImportedProbe:
    """The probe in `body` (see read_reference_csv); row problems go to `problems` (the caller
    raises them, with its own); missing columns and no rows raise at once."""
    index = {name: i for i, name in enumerate(header)}
    required = [c for c in reference_columns(goals, raw=False) if c not in index]
    if required:
        raise RunError(f"{path}: missing columns: {', '.join(required)} (columns present: "
                       f"{', '.join(header) if header else 'none'})")
    if not body:
        raise RunError(f"{path}: the file has a header but no rows")
    has_raw = any(g in index for g in goals)  # raw columns are optional, goal by goal

    rows, d = len(body), len(goals)
    source = np.full((rows, d), np.nan)
    delta = np.full((rows, d), np.nan)
    target = np.full((rows, d), np.nan)
    source_raw = np.full((rows, d), np.nan) if has_raw else None
    texts: list[str] = []
    for r, record in enumerate(body):
        row = r + 1
        if len(record) != len(header):
            problems.add(row, f"has {len(record)} fields, the header has {len(header)}")
            texts.append("")
            continue
        text = record[index["text"]]
        if not text.strip():
            problems.add(row, "text is empty")
        texts.append(text)
        for j, g in enumerate(goals):
            s = parse_number(record[index["source_" + g]], "source_" + g, row, problems)
            dl = parse_number(record[index["delta_" + g]], "delta_" + g, row, problems)
            t = parse_number(record[index["target_" + g]], "target_" + g, row, problems)
            if source_raw is not None and g in index:
                source_raw[r, j] = parse_number(record[index[g]], g, row, problems)
            if math.isnan(s):
                if not record[index["source_" + g]].strip():
                    problems.add(row, f"source_{g} is empty")
            elif not 0.0 <= s <= 1.0:
                problems.add(row, f"source_{g} = {s!r} is outside [0, 1]")
            if math.isnan(dl) != math.isnan(t):
                problems.add(row, f"delta_{g} and target_{g} must both be empty (inactive) or "
                                  "both be numbers")
            elif not math.isnan(t):
                if not 0.0 <= t <= 1.0:
                    problems.add(row, f"target_{g} = {t!r} is outside [0, 1]")
                elif not math.isnan(s) and abs(t - (s + dl)) > TOLERANCE:
                    problems.add(row, f"target_{g} = {t!r} is not source_{g} + delta_{g} = "
                                      f"{s + dl!r}")
            source[r, j], delta[r, j], target[r, j] = s, dl, t
    return ProbeTable(goals=goals, texts=texts,
                      text_ids=[f"{path.name}:{r + 1}" for r in range(rows)],
                      source=source, delta=delta, target=target, source_raw=source_raw)
