"""The measurement cache in a store: `measurements` keyed by (text_hash, measure_id), with the
texts in `texts` and the measure definitions in `measures`. Bulk reads and writes only
(writes through steerdsl.store.bulk, from Arrow): DuckDB's row-by-row INSERT is far too slow
for corpora.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from steerdsl.store.bulk import insert_columns, insert_rows


def read_cached(
    con, hashes: Sequence[str], measure_ids: Sequence[str]
) -> list[tuple[str, str, float | None, str | None]]:
    """Cached rows (text_hash, measure_id, raw, error) for these texts and measures."""
    # Lists as parameters (no Arrow import on this path: a fully cached run stays quick).
    return con.execute(
        "SELECT text_hash, measure_id, raw, error FROM measurements "
        "WHERE measure_id IN (SELECT unnest($1::VARCHAR[])) "
        "AND text_hash IN (SELECT unnest($2::VARCHAR[]))",
        [list(dict.fromkeys(measure_ids)), list(dict.fromkeys(hashes))],
    ).fetchall()


def write_measures(con, measures: Sequence[tuple[str, dict, dict]]) -> None:
    """Definitions (measure_id, definition, versions) of the measures, when new."""
    known = {r[0] for r in con.execute(
        "SELECT measure_id FROM measures WHERE measure_id IN (SELECT unnest($1::VARCHAR[]))",
        [[m[0] for m in measures]]).fetchall()}
    measures = [m for m in measures if m[0] not in known]
    if not measures:
        return
    insert_columns(con, "measures", {
        "measure_id": [m[0] for m in measures],
        "definition": [json.dumps(m[1], sort_keys=True) for m in measures],
        "versions": [json.dumps(m[2], sort_keys=True) for m in measures],
    }, on_conflict="ignore")


class CacheWriter:
    """Buffers new measurements (and their texts) and writes them in bulk."""

    FLUSH_ROWS = 20_000

    def __init__(self, con) -> None:
        self.con = con
        self._texts: dict[str, str] = {}
        self._rows: list[tuple[str, str, float | None, str | None]] = []
        self.written = 0

    def add(self, text_hash: str, text: str, measure_id: str, raw: float,
            error: str | None) -> None:
        self._texts.setdefault(text_hash, text)
        self._rows.append((text_hash, measure_id, None if error is not None else raw, error))
        if len(self._rows) >= self.FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        # Texts first, so a measurement never refers to a missing text. No explicit
        # transaction: the caller may hold one; each INSERT is atomic.
        save_texts(self.con, self._texts)
        write_values(self.con, self._rows)
        self.written += len(self._rows)
        self._texts.clear()
        self._rows.clear()


def save_texts(con, texts: dict[str, str]) -> None:
    """Texts by hash, when new."""
    insert_rows(con, "texts", ["text_hash", "text"], texts.items(), "ignore")


def write_values(con, rows: Sequence[tuple[str, str, float | None, str | None]]) -> None:
    """Measurements (text_hash, measure_id, raw, error) of texts already in `texts`. Replace: a
    value measured again (a retried failure) takes the place of the old row."""
    insert_rows(con, "measurements", ["text_hash", "measure_id", "raw", "error"], rows,
                "replace")
