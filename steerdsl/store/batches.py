"""Provider batch jobs of the generate stage in the store (tables batch_jobs, batch_requests).

A job is written in two steps, each committed before the next request to the provider: its
uploaded file and requests (`add_upload`), then its batch id (`set_job_id`). A rerun after a
kill finds every job that is not finished (`open_jobs`) and polls it again: nothing is sent
twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from steerdsl.store.bulk import insert_columns, transaction

UPLOADED = "uploaded"  # the file is uploaded, the batch not (yet) created


@dataclass(frozen=True)
class BatchJob:
    file_id: str
    job_id: str | None
    provider: str
    status: str
    requests: int
    output_file_id: str | None = None
    error_file_id: str | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def add_upload(con, gen_hash: str, file_id: str, provider: str,
               requests: list[tuple[str, int, int]]) -> None:
    """An uploaded request file and its requests (custom id, row id, sample), in one
    transaction."""
    with transaction(con):
        con.execute("INSERT INTO batch_jobs (gen_hash, file_id, provider, status, requests) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [gen_hash, file_id, provider, UPLOADED, len(requests)])
        insert_columns(con, "batch_requests", {
            "gen_hash": [gen_hash] * len(requests),
            "custom_id": [r[0] for r in requests],
            "file_id": [file_id] * len(requests),
            "row_id": [r[1] for r in requests],
            "sample": [r[2] for r in requests]})


def set_job_id(con, file_id: str, job_id: str, status: str) -> None:
    con.execute("UPDATE batch_jobs SET job_id = ?, status = ?, submitted_at = ? "
                "WHERE file_id = ?", [job_id, status, _now(), file_id])


def update_job(con, file_id: str, status: str, output_file_id: str | None,
               error_file_id: str | None, info: dict) -> None:
    con.execute("UPDATE batch_jobs SET status = ?, output_file_id = ?, error_file_id = ?, "
                "info = ? WHERE file_id = ?",
                [status, output_file_id, error_file_id, json.dumps(info), file_id])


def finish_job(con, file_id: str) -> None:
    """Its results are stored in `calls`: never polled again."""
    con.execute("UPDATE batch_jobs SET finished_at = ? WHERE file_id = ?", [_now(), file_id])


def open_jobs(con, gen_hash: str) -> list[BatchJob]:
    """The stage's jobs whose results are not stored yet, oldest first."""
    rows = con.execute(
        "SELECT file_id, job_id, provider, status, requests, output_file_id, error_file_id "
        "FROM batch_jobs WHERE gen_hash = ? AND finished_at IS NULL "
        "ORDER BY submitted_at NULLS LAST, file_id", [gen_hash]).fetchall()
    return [BatchJob(*r) for r in rows]


def job_requests(con, gen_hash: str, file_id: str) -> dict[str, tuple[int, int]]:
    """custom id -> (row id, sample) of one job's requests."""
    rows = con.execute("SELECT custom_id, row_id, sample FROM batch_requests "
                       "WHERE gen_hash = ? AND file_id = ?", [gen_hash, file_id]).fetchall()
    return {c: (r, s) for c, r, s in rows}


def pending_samples(con, gen_hash: str) -> set[tuple[int, int]]:
    """(row id, sample) of requests in jobs whose results are not stored yet."""
    rows = con.execute(
        "SELECT r.row_id, r.sample FROM batch_requests r JOIN batch_jobs j "
        "ON j.file_id = r.file_id WHERE r.gen_hash = ? AND j.finished_at IS NULL",
        [gen_hash]).fetchall()
    return {(r, s) for r, s in rows}


def sent_counts(con, gen_hash: str) -> dict[tuple[int, int], int]:
    """(row id, sample) -> how many batch requests were made for it (retries make more)."""
    rows = con.execute("SELECT row_id, sample, count(*) FROM batch_requests WHERE gen_hash = ? "
                       "GROUP BY ALL", [gen_hash]).fetchall()
    return {(r, s): n for r, s, n in rows}
