"""Groundedness verdicts (`verdicts`, cached by judge identity, source text and answer text)
and which judge grounds a generation (`groundings`): every statement on those tables, and the
answers a judge stage has to judge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from steerdsl.store.bulk import BatchWriter, insert_columns, transaction

# A generation's answers with their source texts: the probe row's source through the
# generation's probe.
_ANSWERS = """
SELECT c.row_id, c.sample, r.text_hash, st.text, c.answer_hash, c.answer
FROM calls c
JOIN generations g ON g.gen_hash = c.gen_hash
JOIN probe_rows r ON r.probe_hash = g.probe_hash AND r.row_id = c.row_id
JOIN texts st ON st.text_hash = r.text_hash
"""


@dataclass(frozen=True)
class Answer:
    """One answer to judge, with its source."""

    row_id: int
    sample: int
    source_hash: str
    source: str
    answer_hash: str
    answer: str


@dataclass
class VerdictRecord:
    """One row of `verdicts`."""

    source_hash: str
    answer_hash: str
    swapped: bool
    status: str  # 'ok' | 'error'
    verdict: str | None = None  # 'yes' | 'no' | None (unparsed, or an error)
    rationale: str | None = None
    raw: str | None = None
    error: str | None = None
    error_kind: str | None = None
    attempts: int = 1
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    judged_at: datetime | None = None
    deployment: str | None = None  # api_base of the deployment that answered (deployments)


def record_grounding(con, gen_hash: str, judge: str, judge_id: str, candidates: str,
                     spot_check: int) -> None:
    """Which judge grounds a generation (the latest run's say, like scorings)."""
    con.execute("INSERT OR REPLACE INTO groundings (gen_hash, judge, judge_id, candidates, "
                "spot_check) VALUES (?, ?, ?, ?, ?)",
                [gen_hash, judge, judge_id, candidates, spot_check])


def forget_grounding(con, gen_hash: str) -> None:
    """The spec no longer grounds a generation (its `evaluate` names no judge)."""
    con.execute("DELETE FROM groundings WHERE gen_hash = ?", [gen_hash])


def answers_to_judge(con, gen_hash: str, candidates: str) -> list[Answer]:
    """The answers of a generation a judge judges, in (row_id, sample) order. 'selected': the
    answer the `metrics` view marks selected per probe row (best-of-N); 'all': every ok
    answer. Both leave out answers the metrics leave out (truncated ones under `truncated
    drop`)."""
    if candidates == "selected":
        rows = con.execute(
            _ANSWERS + "JOIN metrics m ON m.gen_hash = c.gen_hash AND m.row_id = c.row_id "
            "AND m.sample = c.sample WHERE c.gen_hash = ? AND m.selected "
            "ORDER BY c.row_id, c.sample", [gen_hash]).fetchall()
    else:
        rows = con.execute(
            _ANSWERS + "LEFT JOIN scorings sc ON sc.gen_hash = c.gen_hash "
            "WHERE c.gen_hash = ? AND c.status = 'ok' AND NOT (steer_truncated(c.finish_reason) "
            "AND coalesce(sc.truncated, 'score') = 'drop') ORDER BY c.row_id, c.sample",
            [gen_hash]).fetchall()
    return [Answer(*r) for r in rows]


def stored_verdicts(con, judge_id: str) -> dict[tuple[str, str, bool], str]:
    """(source_hash, answer_hash, swapped) -> status of the verdicts stored for a judge."""
    rows = con.execute("SELECT source_hash, answer_hash, swapped, status FROM verdicts "
                       "WHERE judge_id = ?", [judge_id]).fetchall()
    return {(s, a, w): st for s, a, w, st in rows}


def verdict_spent(con, judge_ids: Sequence[str]) -> float:
    """USD the verdicts of these judges cost (known prices only)."""
    if not judge_ids:
        return 0.0
    (spent,) = con.execute("SELECT coalesce(sum(cost), 0) FROM verdicts WHERE judge_id IN "
                           "(SELECT unnest(?))", [list(judge_ids)]).fetchone()
    return float(spent)


def verdict_error_kinds(con, judge_id: str, keys: Sequence[tuple[str, str, bool]]
                        ) -> list[tuple[str, int, str | None, int | None]]:
    """(error kind, count, an example message, most attempts) of the failed verdicts among
    `keys`, the most common first: the rows steerdsl.stages.generate.failures describes."""
    if not keys:
        return []
    import pyarrow as pa

    wanted = pa.table({"source_hash": [k[0] for k in keys], "answer_hash": [k[1] for k in keys],
                       "swapped": [k[2] for k in keys]})
    con.register("_steerdsl_verdict_keys", wanted)
    try:
        return con.execute(
            "SELECT coalesce(v.error_kind, 'retry') AS kind, count(*) AS n, any_value(v.error), "
            "max(v.attempts) FROM verdicts v JOIN _steerdsl_verdict_keys k USING (source_hash, "
            "answer_hash, swapped) WHERE v.judge_id = ? AND v.status = 'error' "
            "GROUP BY ALL ORDER BY n DESC, kind", [judge_id]).fetchall()
    finally:
        con.unregister("_steerdsl_verdict_keys")


class VerdictWriter(BatchWriter[VerdictRecord]):
    """Verdicts in batches (steerdsl.store.bulk.BatchWriter). A verdict replaces the row of its
    key (an error row asked again)."""

    def __init__(self, con, judge_id: str, flush_s: float = 0.5, flush_rows: int = 500) -> None:
        super().__init__(con, flush_rows, flush_s)
        self.judge_id = judge_id

    def add(self, record: VerdictRecord) -> None:
        if record.judged_at is None:
            record.judged_at = datetime.now(timezone.utc).replace(tzinfo=None)
        super().add(record)

    def write(self, batch: list[VerdictRecord]) -> None:
        import pyarrow as pa

        columns = {
            "judge_id": pa.array([self.judge_id] * len(batch), pa.string()),
            "source_hash": pa.array([r.source_hash for r in batch], pa.string()),
            "answer_hash": pa.array([r.answer_hash for r in batch], pa.string()),
            "swapped": pa.array([r.swapped for r in batch], pa.bool_()),
            "status": pa.array([r.status for r in batch], pa.string()),
            "verdict": pa.array([r.verdict for r in batch], pa.string()),
            "rationale": pa.array([r.rationale for r in batch], pa.string()),
            "raw": pa.array([r.raw for r in batch], pa.string()),
            "error": pa.array([r.error for r in batch], pa.string()),
            "error_kind": pa.array([r.error_kind for r in batch], pa.string()),
            "attempts": pa.array([r.attempts for r in batch], pa.int32()),
            "prompt_tokens": pa.array([r.prompt_tokens for r in batch], pa.int32()),
            "completion_tokens": pa.array([r.completion_tokens for r in batch], pa.int32()),
            "cost": pa.array([r.cost for r in batch], pa.float64()),
            "judged_at": pa.array([r.judged_at for r in batch], pa.timestamp("us")),
            "deployment": pa.array([r.deployment for r in batch], pa.string()),
        }
        with transaction(self.con):
            insert_columns(self.con, "verdicts", columns, on_conflict="replace")
