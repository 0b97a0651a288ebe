"""The probe rows a generate stage answers: a list (tests, benchmarks) or the stored probe,
read in chunks as the requests go out, so memory does not grow with the probe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from steerdsl.errors import RunError
from steerdsl.plan.model import Plan, Stage
from steerdsl.prompts.render import row_prompt


@dataclass(frozen=True)
class GenRow:
    """One probe row as the generate stage needs it."""

    row_id: int
    text: str  # the source text
    deltas: dict[str, float | None]  # per goal; None = inactive
    keep: tuple[str, ...] = ()  # goals asked to stay unchanged (calibrated requests)


class RowPrompts:
    """A generate stage's prompt of each probe row (steerdsl.prompts.render), rendered when
    asked for, so none is kept per row; a row its template cannot fill stops the run, naming
    the stage and the row."""

    def __init__(self, plan: Plan, stage: Stage) -> None:
        self.seed = plan.experiment.seed
        self.stage_id = stage.id
        self.intervention = plan.intervention(stage.key.intervention)
        self.prompt = plan.prompt(self.intervention.prompt)

    def __call__(self, row: GenRow) -> str:
        try:
            return row_prompt(self.seed, self.prompt, self.intervention, row.row_id, row.deltas,
                              row.text, row.keep)
        except ValueError as e:
            raise RunError(f"stage {self.stage_id}, probe row {row.row_id}: {e}") from None


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
