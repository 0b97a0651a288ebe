"""Cheap counts for `compile`: records and words of corpus files, rows of csv probes.

Read with the standard library only (never DuckDB), and only for files small enough to scan
in a blink; anything else (parquet, big files, unreadable records) gives None and the count
is left out of the plan rather than guessed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from steerdsl.plan.model import CorpusSource

MAX_SCAN_BYTES = 32 * 1024 * 1024


def source_word_counts(source: CorpusSource) -> list[int] | None:
    """Words of each record of a corpus source, in reading order; None when not cheap."""
    if sum(f.size for f in source.files) > MAX_SCAN_BYTES:
        return None
    out: list[int] = []
    try:
        for f in source.files:
            texts = _texts(Path(f.path), source.format, source.text_field)
            if texts is None:
                return None
            out += [len(t.split()) for t in texts]
    except (OSError, UnicodeDecodeError, ValueError, csv.Error):
        return None
    return out


def _texts(path: Path, fmt: str, field: str) -> list[str] | None:
    if fmt == "txt":
        return [path.read_text(encoding="utf-8")]
    if fmt == "jsonl":
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                   if line.strip()]
    elif fmt == "json":
        records = json.loads(path.read_text(encoding="utf-8"))
    elif fmt == "csv":
        with open(path, newline="", encoding="utf-8") as fh:
            records = list(csv.DictReader(fh))
    else:
        return None
    if not isinstance(records, list):
        return None
    texts = []
    for r in records:
        value = r.get(field) if isinstance(r, dict) else None
        if not isinstance(value, str):
            return None
        texts.append(value)
    return texts


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
