"""Generations in the store (table generations, one per generate stage or import) and a whole
generation written at once: an import's calls, outputs and answer texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from steerdsl.store.bulk import insert_columns
from steerdsl.store.stages import set_current
from steerdsl.texts import text_hash


def register_generation(con, gen_hash: str, model: str, intervention: str,
                        probe_hash: str | None, settings: str) -> None:
    """Record a generate stage's generation (settings: canonical JSON); kept when stored."""
    con.execute("INSERT OR IGNORE INTO generations (gen_hash, model, intervention, probe_hash, "
                "settings) VALUES (?, ?, ?, ?, ?)",
                [gen_hash, model, intervention, probe_hash, settings])


def replace_generation(con, gen_hash: str, *, model: str, intervention: str, probe_hash: str,
                       settings: str, calls: Mapping[str, Sequence],
                       outputs: Mapping[str, Sequence],
                       current: Sequence[tuple[str, str]]) -> None:
    """Write a whole generation in one transaction of its own, replacing what was stored under
    `gen_hash`: its generations row, its `calls` and `outputs` (columns by name, without
    gen_hash; the texts of calls' `answer` go to `texts`), and the (stage id, hash) pairs
    made current with it."""
    answers = list(calls["answer"])
    hashes = [None if a is None else text_hash(a) for a in answers]
    texts = {h: a for h, a in zip(hashes, answers) if h is not None}
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("generations", "calls", "outputs"):
            con.execute(f"DELETE FROM {table} WHERE gen_hash = ?", [gen_hash])
        con.execute("INSERT INTO generations VALUES (?, ?, ?, ?, ?)",
                    [gen_hash, model, intervention, probe_hash, settings])
        insert_columns(con, "texts", {"text_hash": list(texts), "text": list(texts.values())},
                       on_conflict="ignore")
        insert_columns(con, "calls", {"gen_hash": [gen_hash] * len(answers), **calls,
                                      "answer_hash": hashes})
        insert_columns(con, "outputs", {"gen_hash": [gen_hash] * len(outputs["row_id"]),
                                        **outputs})
        for stage_id, stage_hash in current:
            set_current(con, stage_id, stage_hash)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def current_generations_over(con, probe_hash: str) -> list[tuple[str, str]]:
    """(model, intervention) of the generations the views use over the probe `probe_hash`."""
    return [(m, i) for m, i in con.execute(
        "SELECT model, intervention FROM current_generations WHERE probe_hash = ? "
        "ORDER BY ALL", [probe_hash]).fetchall()]
