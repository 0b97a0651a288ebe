"""Batched, resumable writing of `calls` rows (and answer texts) into the store.

One writer per stage. Rows are buffered and flushed as one transaction (calls + texts) from an
Arrow table, at least every `flush_s` seconds or `flush_rows` rows: a kill -9 loses at most the
unflushed rows, and the primary key (gen_hash, row_id, sample) means a rerun never duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from steerdsl.store.answer_record import AnswerRecord
from steerdsl.store.bulk import BatchWriter, insert_columns, transaction
from steerdsl.texts import text_hash

@dataclass
class CallRecord(AnswerRecord):
    """A `calls` row: a probe request's answer (or failure), and where and when it came."""
    server_s: float | None = None  # time the server says it spent, when it says
    finished_at: datetime | None = None
    deployment: str | None = None  # api_base of the deployment that answered (deployments)


def ok_answers(con, gen_hash: str) -> list[tuple[int, int, str]]:
    """(row_id, sample, cleaned answer) of a stage's ok calls, in (row, sample) order."""
    return con.execute("SELECT row_id, sample, answer FROM calls WHERE gen_hash = ? "
                       "AND status = 'ok' ORDER BY row_id, sample", [gen_hash]).fetchall()


def sample_statuses(con, gen_hash: str, samples: int):
    """What is stored of a generate stage's samples, as a numpy int8 matrix indexed
    [row_id, sample] (rows up to the largest stored row id; samples 0..samples-1): 0 nothing,
    OK, or ERROR. One byte per sample: the generate stage's view at any probe size."""
    import numpy as np

    got = con.execute("SELECT row_id, sample, status = 'ok' AS ok FROM calls "
                      "WHERE gen_hash = ? AND sample < ?", [gen_hash, samples]).fetchnumpy()
    row_id = np.asarray(got["row_id"], dtype=np.int64)
    status = np.zeros((int(row_id.max()) + 1 if len(row_id) else 0, samples), dtype=np.int8)
    status[row_id, np.asarray(got["sample"], dtype=np.int64)] = np.where(
        np.asarray(got["ok"], dtype=bool), OK, ERROR)
    return status


OK, ERROR = 1, 2  # sample_statuses' values


class StoredSamples:
    """The (row_id, sample) keys of a stage's stored calls rows, one byte each (a
    sample_statuses matrix): what a CallWriter must replace, at any probe size. Keys the
    writer writes become stored too."""

    def __init__(self, status, rows: int) -> None:
        """`rows`: keys of row ids below it may be written (the probe's rows)."""
        import numpy as np

        self.status = np.zeros((max(rows, len(status)), status.shape[1]), dtype=np.int8)
        self.status[:len(status)] = status

    def __contains__(self, key: tuple[int, int]) -> bool:
        row_id, sample = key
        return (row_id < len(self.status) and sample < self.status.shape[1]
                and bool(self.status[row_id, sample]))

    def written(self, keys: list[tuple[int, int]]) -> None:
        for row_id, sample in keys:
            if row_id < len(self.status) and sample < self.status.shape[1]:
                self.status[row_id, sample] = OK


class CallWriter(BatchWriter[CallRecord]):
    def __init__(self, con, gen_hash: str, flush_rows: int = 1000, flush_s: float = 0.5,
                 stored: set[tuple[int, int]] | StoredSamples | None = None) -> None:
        """`stored`: (row_id, sample) keys already in `calls` that this writer may rewrite: the
        error rows being retried (a set), or every stored key (StoredSamples: a batch job's
        results, when it is collected again after a kill, or an error resent)."""
        super().__init__(con, flush_rows, flush_s)
        self.gen_hash = gen_hash
        self.stored = set() if stored is None else stored

    def add(self, record: CallRecord) -> None:
        if record.finished_at is None:
            record.finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
        super().add(record)

    def write(self, batch: list[CallRecord]) -> None:
        import pyarrow as pa

        hashes = [text_hash(r.answer) if r.answer is not None else None for r in batch]
        columns = {
            "gen_hash": pa.array([self.gen_hash] * len(batch), pa.string()),
            "row_id": pa.array([r.row_id for r in batch], pa.int32()),
            "sample": pa.array([r.sample for r in batch], pa.int32()),
            "prompt": pa.array([r.prompt for r in batch], pa.string()),
            "raw_answer": pa.array([r.raw_answer for r in batch], pa.string()),
            "answer": pa.array([r.answer for r in batch], pa.string()),
            "answer_hash": pa.array(hashes, pa.string()),
            "status": pa.array([r.status for r in batch], pa.string()),
            "error": pa.array([r.error for r in batch], pa.string()),
            "error_kind": pa.array([r.error_kind for r in batch], pa.string()),
            "prompt_tokens": pa.array([r.prompt_tokens for r in batch], pa.int32()),
            "completion_tokens": pa.array([r.completion_tokens for r in batch], pa.int32()),
            "cost": pa.array([r.cost for r in batch], pa.float64()),
            "latency_s": pa.array([r.latency_s for r in batch], pa.float64()),
            "server_s": pa.array([r.server_s for r in batch], pa.float64()),
            "attempts": pa.array([r.attempts for r in batch], pa.int32()),
            "finished_at": pa.array([r.finished_at for r in batch], pa.timestamp("us")),
            "finish_reason": pa.array([r.finish_reason for r in batch], pa.string()),
            "deployment": pa.array([r.deployment for r in batch], pa.string()),
        }
        answers = {h: r.answer for h, r in zip(hashes, batch) if h is not None}
        con = self.con
        # Error rows requested again (retry_errors) are replaced by their new outcome; 'ok'
        # rows are never requested again. A plain INSERT is 3x faster than INSERT OR REPLACE.
        keys = [(r.row_id, r.sample) for r in batch]
        replaced = [k for k in keys if k in self.stored]
        with transaction(con):
            if len(replaced) > _DELETE_ONE_BY_ONE:
                _delete_keys(con, self.gen_hash, replaced)
            elif replaced:
                con.executemany("DELETE FROM calls WHERE gen_hash = ? AND row_id = ? "
                                "AND sample = ?", [(self.gen_hash, *k) for k in replaced])
            insert_columns(con, "calls", columns)
            insert_columns(con, "texts", {"text_hash": list(answers),
                                          "text": list(answers.values())}, on_conflict="ignore")
        if isinstance(self.stored, StoredSamples):
            self.stored.written(keys)
        else:
            self.stored.difference_update(replaced)


# Up to this many rows replaced in a batch are deleted one statement each (milliseconds);
# more, by one statement joining their keys (a scan of the stage's calls rows).
_DELETE_ONE_BY_ONE = 20


def _delete_keys(con, gen_hash: str, keys: list[tuple[int, int]]) -> None:
    """Delete a stage's calls rows stored under the (row_id, sample) keys."""
    import pyarrow as pa

    con.register("_steerdsl_call_keys", pa.table({
        "row_id": pa.array([k[0] for k in keys], pa.int32()),
        "sample": pa.array([k[1] for k in keys], pa.int32())}))
    try:
        con.execute("DELETE FROM calls USING _steerdsl_call_keys k WHERE calls.gen_hash = ? "
                    "AND calls.row_id = k.row_id AND calls.sample = k.sample", [gen_hash])
    finally:
        con.unregister("_steerdsl_call_keys")
