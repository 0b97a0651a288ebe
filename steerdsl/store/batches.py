"""Provider batch jobs in the store (tables batch_jobs, batch_requests), for every kind of work
that goes by batch: a generate stage's answers, a judge's verdicts, a judged goal's values.

Jobs belong to an owner of a kind: ('generate', gen_hash), ('judge', judge_id), ('goal',
measure_id); every statement here is of one owner, so jobs of different owners never mix. A
request answers an `item`, the owner's key of what it answers ('ROW:SAMPLE', a verdict's key, a
text's hash).

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
GENERATE = "generate"  # the kind of jobs stored before kinds were recorded (kind NULL)

# The item of a request: generate requests stored before the column have only row and sample.
_ITEM = "coalesce(r.item, r.row_id || ':' || r.sample)"
_KIND = f"coalesce(j.kind, '{GENERATE}')"


@dataclass(frozen=True)
class BatchJob:
    file_id: str
    job_id: str | None
    provider: str
    status: str
    requests: int
    output_file_id: str | None = None
    error_file_id: str | None = None


@dataclass(frozen=True)
class Owner:
    """Whose jobs: a kind and the hash that kind keys its results by."""

    kind: str  # 'generate' | 'judge' | 'goal'
    key: str


class JobRequests:
    """One job's requests as stored: custom id, item, and a generate request's probe row and
    sample (else None). Kept as Arrow columns built CHUNK requests at a time, a few bytes a
    request rather than Python objects (a job holds up to 50,000)."""

    CHUNK = 5000

    def __init__(self) -> None:
        self.sealed: list = []  # pyarrow RecordBatches
        self.columns: dict[str, list] = {k: [] for k in ("custom_id", "item", "row_id",
                                                         "sample")}
        self.count = 0

    def add(self, custom_id: str, item: str, row: tuple[int, int] | None = None) -> None:
        c = self.columns
        c["custom_id"].append(custom_id)
        c["item"].append(item)
        c["row_id"].append(row[0] if row else None)
        c["sample"].append(row[1] if row else None)
        self.count += 1
        if len(c["item"]) >= self.CHUNK:
            self._seal()

    def __len__(self) -> int:
        return self.count

    def _seal(self) -> None:
        import pyarrow as pa

        c = self.columns
        if c["item"]:
            self.sealed.append(pa.record_batch({
                "custom_id": pa.array(c["custom_id"], pa.string()),
                "item": pa.array(c["item"], pa.string()),
                "row_id": pa.array(c["row_id"], pa.int32()),
                "sample": pa.array(c["sample"], pa.int32())}))
            for v in c.values():
                v.clear()

    def table(self):
        """The requests as one Arrow table (custom_id, item, row_id, sample)."""
        import pyarrow as pa

        self._seal()
        schema = pa.schema([("custom_id", pa.string()), ("item", pa.string()),
                            ("row_id", pa.int32()), ("sample", pa.int32())])
        return pa.Table.from_batches(self.sealed, schema=schema)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def add_upload(con, owner: Owner, file_id: str, provider: str, requests: JobRequests) -> None:
    """An uploaded request file and its requests, in one transaction."""
    import pyarrow as pa

    n = len(requests)
    t = requests.table()
    with transaction(con):
        con.execute("INSERT INTO batch_jobs (gen_hash, kind, file_id, provider, status, "
                    "requests) VALUES (?, ?, ?, ?, ?, ?)",
                    [owner.key, owner.kind, file_id, provider, UPLOADED, n])
        insert_columns(con, "batch_requests", {
            "gen_hash": pa.array([owner.key] * n, pa.string()),
            "custom_id": t.column("custom_id"),
            "file_id": pa.array([file_id] * n, pa.string()),
            "row_id": t.column("row_id"),
            "sample": t.column("sample"),
            "item": t.column("item")})


def set_job_id(con, file_id: str, job_id: str, status: str) -> None:
    con.execute("UPDATE batch_jobs SET job_id = ?, status = ?, submitted_at = ? "
                "WHERE file_id = ?", [job_id, status, _now(), file_id])


def update_job(con, file_id: str, status: str, output_file_id: str | None,
               error_file_id: str | None, info: dict) -> None:
    con.execute("UPDATE batch_jobs SET status = ?, output_file_id = ?, error_file_id = ?, "
                "info = ? WHERE file_id = ?",
                [status, output_file_id, error_file_id, json.dumps(info), file_id])


def finish_job(con, file_id: str) -> None:
    """Its results are stored: never polled again."""
    con.execute("UPDATE batch_jobs SET finished_at = ? WHERE file_id = ?", [_now(), file_id])


def open_jobs(con, owner: Owner) -> list[BatchJob]:
    """The owner's jobs whose results are not stored yet, oldest first."""
    rows = con.execute(
        "SELECT file_id, job_id, provider, status, requests, output_file_id, error_file_id "
        f"FROM batch_jobs j WHERE j.gen_hash = ? AND {_KIND} = ? AND j.finished_at IS NULL "
        "ORDER BY j.submitted_at NULLS LAST, j.file_id", [owner.key, owner.kind]).fetchall()
    return [BatchJob(*r) for r in rows]


def job_requests(con, owner: Owner, file_id: str) -> dict[str, str]:
    """custom id -> item of one job's requests."""
    rows = con.execute(f"SELECT r.custom_id, {_ITEM} FROM batch_requests r "
                       "WHERE r.gen_hash = ? AND r.file_id = ?", [owner.key, file_id]).fetchall()
    return dict(rows)


def pending_items(con, owner: Owner) -> set[str]:
    """Items of requests in the owner's jobs whose results are not stored yet."""
    rows = con.execute(
        f"SELECT {_ITEM} FROM batch_requests r JOIN batch_jobs j ON j.file_id = r.file_id "
        f"WHERE r.gen_hash = ? AND {_KIND} = ? AND j.finished_at IS NULL",
        [owner.key, owner.kind]).fetchall()
    return {r[0] for r in rows}


def pending_rows(con, owner: Owner):
    """(row_id, sample) of the generate requests in the owner's jobs whose results are not
    stored yet, as two numpy int64 arrays: pending_items of a generate stage, one number each."""
    import numpy as np

    got = con.execute(
        "SELECT r.row_id, r.sample FROM batch_requests r "
        "JOIN batch_jobs j ON j.file_id = r.file_id "
        f"WHERE r.gen_hash = ? AND {_KIND} = ? AND j.finished_at IS NULL "
        "AND r.row_id IS NOT NULL", [owner.key, owner.kind]).fetchnumpy()
    return (np.asarray(got["row_id"], dtype=np.int64),
            np.asarray(got["sample"], dtype=np.int64))


def sent_counts(con, owner: Owner) -> dict[str, int]:
    """item -> how many batch requests were made for it (resends make more)."""
    rows = con.execute(f"SELECT {_ITEM}, count(*) FROM batch_requests r WHERE r.gen_hash = ? "
                       "GROUP BY ALL", [owner.key]).fetchall()
    return dict(rows)
