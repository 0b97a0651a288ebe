"""Counts over the calls table: the answers stored per generate stage, the failed calls of one
by error kind, and what the current generations cost."""

from __future__ import annotations

from collections.abc import Sequence


def answer_counts(con, gen_hashes: Sequence[str]) -> dict[str, tuple[int, int]]:
    """gen_hash -> (samples stored as ok, samples stored as error) of those generate stages
    that have any."""
    rows = con.execute(
        "SELECT gen_hash, count(*) FILTER (WHERE status = 'ok'), "
        "count(*) FILTER (WHERE status <> 'ok') FROM calls "
        "WHERE list_contains(?, gen_hash) GROUP BY ALL", [list(gen_hashes)]).fetchall()
    return {h: (ok, failed) for h, ok, failed in rows}


def error_kinds(con, gen_hash: str) -> list[tuple[str, int, str | None, int | None]]:
    """(kind, count, an example error, most attempts) of a generate stage's error rows, the
    most common kind first; a row without a kind counts as 'retry'."""
    return con.execute(
        "SELECT coalesce(error_kind, 'retry') AS kind, count(*), min(error), max(attempts) "
        "FROM calls WHERE gen_hash = ? AND status = 'error' GROUP BY kind "
        "ORDER BY count(*) DESC, kind", [gen_hash]).fetchall()


def failed_calls(con, gen_hash: str) -> int:
    """Samples of a generation stored with a status other than 'ok'."""
    return con.execute("SELECT count(*) FROM calls WHERE gen_hash = ? AND status <> 'ok'",
                       [gen_hash]).fetchone()[0]


def spent_on(con, gen_hashes: Sequence[str]) -> float:
    """USD the calls of these generations cost (calls of unknown price count nothing)."""
    return float(con.execute("SELECT coalesce(sum(cost), 0) FROM calls WHERE "
                             "list_contains(?, gen_hash)", [list(gen_hashes)]).fetchone()[0])
