"""A probe as rows: the common shape of drawn, imported (reference CSV) and stored probes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from steerdsl.probe.draw import DrawnProbe


@dataclass(frozen=True)
class ProbeTable:
    """One row per request. Goal columns follow `goals`; NaN delta/target = inactive goal.

    `goals` may hold more goals than the probe requests moves on (the whole goal space): such
    goals are simply inactive in every row, and still carry their source values."""

    goals: list[str]
    texts: list[str]  # the source text of each row
    text_ids: list[str | None]  # where each text came from ("file:row"), when known
    source: np.ndarray  # (rows, d) normalized source values
    delta: np.ndarray  # (rows, d)
    target: np.ndarray  # (rows, d)
    source_raw: np.ndarray | None = None  # (rows, d) raw measure values, when known

    def __post_init__(self) -> None:
        shape = (len(self.texts), len(self.goals))
        if len(self.text_ids) != shape[0]:
            raise ValueError(f"text_ids has {len(self.text_ids)} entries for {shape[0]} rows")
        for name in ("source", "delta", "target", "source_raw"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ValueError(f"{name} has shape {np.shape(value)}, expected {shape}")

    @property
    def n_rows(self) -> int:
        return len(self.texts)

    def active(self) -> np.ndarray:
        return ~np.isnan(self.delta)


# The name the reference-CSV reader's docs use for what it returns.
ImportedProbe = ProbeTable


def table_from_drawn(drawn: DrawnProbe, texts: Sequence[str],
                     text_ids: Sequence[str | None] | None, goals: Sequence[str],
                     source: np.ndarray, source_raw: np.ndarray | None = None) -> ProbeTable:
    """Rows of a drawn probe over the goals `goals` (a superset of drawn.goals, e.g. the whole
    goal space, in display order). `texts`, `text_ids`, `source` (N x len(goals), normalized)
    and `source_raw` describe the corpus the probe was drawn from, indexed like the `sources`
    matrix given to draw_probe."""
    goals = list(goals)
    missing = [g for g in drawn.goals if g not in goals]
    if missing:
        raise ValueError(f"goals {missing} of the drawn probe are not among {goals}")
    idx = drawn.source_index
    rows = len(idx)
    delta = np.full((rows, len(goals)), np.nan)
    target = np.full((rows, len(goals)), np.nan)
    for j, g in enumerate(drawn.goals):
        delta[:, goals.index(g)] = drawn.delta[:, j]
        target[:, goals.index(g)] = drawn.target[:, j]
    source = np.asarray(source, dtype=np.float64)
    return ProbeTable(
        goals=goals,
        texts=[texts[i] for i in idx],
        text_ids=[text_ids[i] for i in idx] if text_ids is not None else [None] * rows,
        source=source[idx],
        delta=delta,
        target=target,
        source_raw=np.asarray(source_raw, dtype=np.float64)[idx] if source_raw is not None
        else None,
    )
