"""The probe rows a generate stage answers: a list (tests, benchmarks) or the stored probe,
read in chunks as the requests go out, so memory does not grow with the probe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GenRow:
    """One probe row as the generate stage needs it."""

    row_id: int
    text: str  # the source text
    deltas: dict[str, float | None]  # per goal; None = inactive
    keep: tuple[str, ...] = ()  # goals asked to stay unchanged (calibrated requests)


class ProbeRequests:
    """A stored probe's rows as GenRow, in row order, read from the store `REQUEST_CHUNK`
    rows at a time each time it is iterated; its row ids are known up front (one number a
    row)."""

    def __init__(self, con, probe_hash: str) -> None:
        from steerdsl.store.probes import probe_row_ids

        self.con = con
        self.probe_hash = probe_hash
        self.ids = probe_row_ids(con, probe_hash)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[GenRow]:
        from steerdsl.store.probes import request_chunks

        for chunk in request_chunks(self.con, self.probe_hash):
            for row_id, text, deltas in chunk:
                yield GenRow(row_id=row_id, text=text, deltas=deltas)


Rows = ProbeRequests | list[GenRow]


def row_ids(rows: Iterable[GenRow] | ProbeRequests) -> np.ndarray:
    """The rows' ids in order, without reading a stored probe's texts."""
    if isinstance(rows, ProbeRequests):
        return rows.ids
    return np.fromiter((r.row_id for r in rows), dtype=np.int64)
