"""Groundedness rows written by hand (what the judge stage and `steerdsl review` write), on top
of a store that has calls: verdicts, groundings and reviews for chosen answers."""

from __future__ import annotations

from datetime import datetime

JUDGE_ID = "J1"


def answer_keys(con, gen_hash: str) -> dict[tuple[int, int], tuple[str, str]]:
    """(row_id, sample) -> (source_hash, answer_hash) of the generation's ok calls."""
    rows = con.execute("""
        SELECT c.row_id, c.sample, pr.text_hash, c.answer_hash
        FROM calls c JOIN generations g USING (gen_hash)
        JOIN probe_rows pr ON pr.probe_hash = g.probe_hash AND pr.row_id = c.row_id
        WHERE c.gen_hash = ? AND c.status = 'ok'""", [gen_hash]).fetchall()
    return {(r, s): (src, ans) for r, s, src, ans in rows}


def ground(con, gen_hash: str, *, judge_id: str = JUDGE_ID, candidates: str = "selected",
           spot_check: int = 0, judge: str = "meaning") -> None:
    con.execute("INSERT OR REPLACE INTO groundings VALUES (?, ?, ?, ?, ?)",
                [gen_hash, judge, judge_id, candidates, spot_check])


def verdict(con, key: tuple[str, str], answer: str | None, *, swapped: bool = False,
            status: str = "ok", judge_id: str = JUDGE_ID, rationale: str | None = None) -> None:
    """One verdict row: answer 'yes' | 'no' | None (unparsed, or a failed request)."""
    source_hash, answer_hash = key
    con.execute(
        "INSERT OR REPLACE INTO verdicts (judge_id, source_hash, answer_hash, swapped, status, "
        "verdict, rationale, raw, error, prompt_tokens, completion_tokens, cost, judged_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 10, 5, 0.0001, ?)",
        [judge_id, source_hash, answer_hash, swapped, status, answer,
         rationale if rationale is not None else (f"because {answer}" if answer else None),
         "garbage" if answer is None and status == "ok" else f'{{"answer": "{answer}"}}',
         "HTTP 500" if status == "error" else None, datetime(2026, 11, 28, 12, 0)])


def review(con, key: tuple[str, str], decision: str, *, judge_id: str = JUDGE_ID) -> None:
    source_hash, answer_hash = key
    con.execute("INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?, ?, NULL)",
                [judge_id, source_hash, answer_hash, decision, datetime(2026, 11, 28, 13, 0)])
