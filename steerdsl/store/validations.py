"""`steerdsl validate-goals` in the store: the judge's cached answers (`validation_answers`)
and each run's per-goal agreement (`goal_validations`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from steerdsl.store.bulk import insert_rows

# (question, hash_a, hash_b): one question about two texts in the order shown.
Asked = tuple[str, str, str]


@dataclass(frozen=True)
class StoredAnswer:
    """A row of validation_answers (what one request got)."""

    question: str
    hash_a: str
    hash_b: str
    status: str  # 'ok' | 'error'
    answer: str | None  # 'a' | 'b' | 'tie' | None (unparsed, or the request failed)
    raw: str | None
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None


_ANSWER_COLUMNS = ("judge_id", "question", "hash_a", "hash_b", "judge", "status", "answer",
                   "raw", "error", "prompt_tokens", "completion_tokens", "cost", "asked_at")
_RESULT_COLUMNS = ("run_at", "spec_hash", "judge", "judge_id", "goal", "measure_id", "question",
                   "pairs", "answered", "unparsed", "missing", "judge_ties", "goal_ties", "tau")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC


def answered(con, judge_id: str, wanted: Sequence[Asked]) -> dict[Asked, str | None]:
    """The answers ('a' | 'b' | 'tie', None when unparsed) this judge already gave to the
    wanted questions; failed requests are left out, to be asked again."""
    if not wanted:
        return {}
    rows = con.execute(
        "SELECT question, hash_a, hash_b, answer FROM validation_answers "
        "WHERE judge_id = $1 AND status = 'ok' "
        "AND question IN (SELECT unnest($2::VARCHAR[])) "
        "AND hash_a IN (SELECT unnest($3::VARCHAR[]))",
        [judge_id, sorted({w[0] for w in wanted}), sorted({w[1] for w in wanted})]).fetchall()
    want = set(wanted)
    return {(q, a, b): answer for q, a, b, answer in rows if (q, a, b) in want}


def save_answer(con, judge_id: str, judge: str, row: StoredAnswer) -> None:
    """Written the moment it comes, so an interrupted validation keeps what it paid for. A
    cursor of its own: the caller's connection may hold an unfinished result."""
    cur = con.cursor()
    try:
        insert_rows(cur, "validation_answers", _ANSWER_COLUMNS,
                    [(judge_id, row.question, row.hash_a, row.hash_b, judge, row.status,
                      row.answer, row.raw, row.error, row.prompt_tokens, row.completion_tokens,
                      row.cost, _now())], on_conflict="replace")
    finally:
        cur.close()


def validation_spent(con) -> float:
    """USD spent on validation answers in this store (unknown prices count as zero)."""
    return float(con.execute(
        "SELECT coalesce(sum(cost), 0) FROM validation_answers").fetchall()[0][0])


def save_results(con, spec_hash: str, judge: str, judge_id: str,
                 results: Sequence[tuple[str, str, str, int, int, int, int, int, int,
                                         float | None]]) -> None:
    """One row per goal: (goal, measure_id, question, pairs, answered, unparsed, missing,
    judge_ties, goal_ties, tau)."""
    at = _now()
    insert_rows(con, "goal_validations", _RESULT_COLUMNS,
                [(at, spec_hash, judge, judge_id, *r) for r in results])
