"""Closed-loop feedback's rounds (tables feedback_rounds, feedback_outputs) and what a new
round changes in `calls` and `outputs`: a round and its effect on the scored answer are
written in one transaction, so a kill leaves either both or neither."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from steerdsl.store.answer_record import AnswerRecord
from steerdsl.store.bulk import BatchWriter, insert_columns, insert_rows, transaction
from steerdsl.texts import text_hash


@dataclass(kw_only=True)
class RoundRecord(AnswerRecord):
    """A round of a feedback conversation: its request's answer (or failure)."""
    round: int  # 0: the first answer; r: the r-th revision


_COLUMNS = ("row_id", "sample", "round", "prompt", "raw_answer", "answer", "status", "error",
            "error_kind", "prompt_tokens", "completion_tokens", "cost", "latency_s", "attempts",
            "finish_reason")


def adopt_first_answers(con, gen_hash: str) -> None:
    """Round 0 of every ok call that has no rounds yet: the plain answer as the generate
    stage stored it (idempotent; once rounds exist, `calls` holds the latest answer)."""
    con.execute(
        "INSERT INTO feedback_rounds SELECT c.gen_hash, c.row_id, c.sample, 0, c.prompt, "
        "c.raw_answer, c.answer, c.answer_hash, c.status, c.error, c.error_kind, "
        "c.prompt_tokens, c.completion_tokens, c.cost, c.latency_s, c.attempts, "
        "c.finish_reason, c.finished_at FROM calls c WHERE c.gen_hash = ? AND c.status = 'ok' "
        "AND NOT EXISTS (SELECT 1 FROM feedback_rounds f WHERE f.gen_hash = c.gen_hash "
        "AND f.row_id = c.row_id AND f.sample = c.sample)", [gen_hash])


def load_rounds(con, gen_hash: str) -> dict[tuple[int, int], list[RoundRecord]]:
    """(row_id, sample) -> its rounds, in round order."""
    rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM feedback_rounds WHERE gen_hash = ? "
                       "ORDER BY row_id, sample, round", [gen_hash]).fetchall()
    out: dict[tuple[int, int], list[RoundRecord]] = {}
    for r in rows:
        rec = RoundRecord(**dict(zip(_COLUMNS, r)))
        out.setdefault((rec.row_id, rec.sample), []).append(rec)
    return out


def save_rounds(con, gen_hash: str, records: list[RoundRecord]) -> None:
    """Store new rounds (an error row of the same round is replaced). An ok round becomes the
    answer of its `calls` row (its tokens and cost added), whose values in `outputs` are
    deleted: the score stage scores the new answer."""
    if not records:
        return
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    hashes = [text_hash(r.answer) if r.answer is not None else None for r in records]
    columns = {c: [getattr(r, c) for r in records] for c in _COLUMNS}
    columns.update(gen_hash=[gen_hash] * len(records), answer_hash=hashes,
                   finished_at=[now] * len(records))
    texts = {h: r.answer for h, r in zip(hashes, records) if h is not None}
    ok = [r for r in records if r.status == "ok"]
    with transaction(con):
        con.executemany("DELETE FROM feedback_rounds WHERE gen_hash = ? AND row_id = ? AND "
                        "sample = ? AND round = ?",
                        [(gen_hash, r.row_id, r.sample, r.round) for r in records])
        insert_columns(con, "feedback_rounds", columns)
        insert_columns(con, "texts", {"text_hash": list(texts), "text": list(texts.values())},
                       on_conflict="ignore")
        if not ok:
            return
        con.executemany(
            "UPDATE calls SET raw_answer = ?, answer = ?, answer_hash = ?, finish_reason = ?, "
            "prompt_tokens = coalesce(prompt_tokens, 0) + coalesce(?, 0), "
            "completion_tokens = coalesce(completion_tokens, 0) + coalesce(?, 0), "
            # an unknown cost (no price) leaves the total unknown
            "cost = cost + ?, latency_s = coalesce(latency_s, 0) + coalesce(?, 0), "
            "attempts = coalesce(attempts, 0) + ?, "
            "finished_at = ? WHERE gen_hash = ? AND row_id = ? AND sample = ?",
            [(r.raw_answer, r.answer, text_hash(r.answer), r.finish_reason,
              r.prompt_tokens, r.completion_tokens, r.cost, r.latency_s, r.attempts, now,
              gen_hash, r.row_id, r.sample) for r in ok])
        con.executemany("DELETE FROM outputs WHERE gen_hash = ? AND row_id = ? AND sample = ?",
                        [(gen_hash, r.row_id, r.sample) for r in ok])


def measured_rounds(con, gen_hash: str) -> set[tuple[int, int, int]]:
    """(row_id, sample, round) whose values are in feedback_outputs."""
    return set(con.execute("SELECT DISTINCT row_id, sample, round FROM feedback_outputs "
                           "WHERE gen_hash = ?", [gen_hash]).fetchall())


def save_round_outputs(con, rows: list[tuple]) -> None:
    """rows: (gen_hash, row_id, sample, round, goal, raw, value); replaces what is there."""
    insert_rows(con, "feedback_outputs",
                ["gen_hash", "row_id", "sample", "round", "goal", "raw", "value"], rows,
                on_conflict="replace")


def failed_rounds(con, gen_hash: str) -> int:
    return con.execute("SELECT count(*) FROM feedback_rounds WHERE gen_hash = ? AND "
                       "status <> 'ok'", [gen_hash]).fetchone()[0]


class RoundWriter(BatchWriter[RoundRecord]):
    """Rounds as they arrive, flushed by the loop's clock (as CallWriter for calls)."""

    def __init__(self, con, gen_hash: str, flush_rows: int = 500, flush_s: float = 0.5) -> None:
        super().__init__(con, flush_rows, flush_s)
        self.gen_hash = gen_hash

    def write(self, batch: list[RoundRecord]) -> None:
        save_rounds(self.con, self.gen_hash, batch)
