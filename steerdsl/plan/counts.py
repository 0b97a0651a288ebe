"""Cheap counts for `compile`: records and words of corpus files, rows of csv probes.

Read with the standard library only (never DuckDB), and only for files small enough to scan
in a blink; anything else (parquet, big files, unreadable records) gives None and the count
is left out of the plan rather than guessed.
"""

from __future__ import annotations

import csv
from pathlib import Path

from steerdsl import records
from steerdsl.plan.model import CorpusSource

MAX_SCAN_BYTES = 32 * 1024 * 1024


def source_word_counts(source: CorpusSource) -> list[int] | None:
    """Words of each text of a corpus source the reader keeps before its filters (records
    with a missing or blank text are skipped, as the reader skips them), in reading order;
    None when not cheap or not readable."""
    if sum(f.size for f in source.files) > MAX_SCAN_BYTES:
        return None
    out: list[int] = []
    try:
        for f in source.files:
            texts = _texts(Path(f.path), source.format, source.text_field)
            if texts is None:
                return None
            out += [len(t.split()) for t in texts if t is not None and t.strip()]
    except (OSError, UnicodeDecodeError, ValueError, csv.Error):
        return None
    return out


def _texts(path: Path, fmt: str, field: str) -> list[str | None] | None:
    if fmt == "txt":
        return [path.read_text(encoding="utf-8")]
    if fmt in ("jsonl", "json"):
        found, _ = records.read_json_records(path.read_bytes(), fmt, field, None)
        return [r.text for r in found]
    if fmt != "csv":
        return None
    with open(path, newline="", encoding="utf-8-sig") as fh:
        delimiter = records.csv_delimiter(fh.readline())
        fh.seek(0)
        rows = list(csv.DictReader(fh, delimiter=delimiter))
    if rows and field not in rows[0]:
        return None
    return [r.get(field) for r in rows]


def csv_rows(path: Path) -> tuple[int, float] | None:
    """Rows of a probe csv and the mean words of its `text` column."""
    try:
        if path.stat().st_size > MAX_SCAN_BYTES:
            return None
        with open(path, newline="", encoding="utf-8") as fh:
            words = [len((r.get("text") or "").split()) for r in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return len(words), (sum(words) / len(words) if words else 0.0)
