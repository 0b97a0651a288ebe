"""Importing the reference tool's CSV files into a store: a spec's CSV probe (`probe NAME from
csv "FILE"`), and results, so old results are scored by the same SQL views as new ones
(docs/sql.md, "Imported results").

A results file's columns: `text`; per goal `source_<g>`, `delta_<g>`, `target_<g>` (delta and target empty
when the goal is inactive) and `output_<g>` (the answer's normalized value); optional raw
source values `<g>`; optional answer text `output_text` (or `output`). Goals are found from
the column names. Every other column is kept, as text, in the generation's settings JSON
(`settings.extra.<column>`: a list with one value per row, in file order).

The file becomes one probe (probes, probe_rows, probe_goals, texts) and one generation
(generations, calls, outputs) of one model x intervention, marked in `current`. Hashes derive
from the file's content, so importing the same file again replaces it instead of adding to it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from steerdsl.errors import RunError, UsageError
from steerdsl.plan.keys import GenerateKey, ProbeKey
from steerdsl.plan.hashing import stable_hash
from steerdsl.probe.table import ProbeTable
from steerdsl.reference.layout import (Problems, parse_number, parse_reference_rows,
                                       read_csv_records, read_reference_csv)
from steerdsl.store.generations import current_generations_over, replace_generation
from steerdsl.store.probes import save_imported_probe, save_probe
from steerdsl.store.stages import current_hash
from steerdsl.texts import text_hash

GOAL_PREFIXES = ("source_", "delta_", "target_", "output_")
ANSWER_COLUMNS = ("output_text", "output")  # the answer text, first one present wins
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
NAME_RULE = "letters, digits, _ . -, starting with a letter or _"


@dataclass
class ImportedResults:
    probe_name: str
    probe_hash: str
    gen_hash: str
    goals: list[str]
    rows: int
    ok: int
    extra_columns: list[str]
    answer_column: str | None
    replaced_probe: str | None = None  # previous current probe of that name, if different
    orphaned: list[str] = field(default_factory=list)  # generations no longer counted


def find_goals(header: list[str], path: Path) -> list[str]:
    """Goals named by the columns, in the order of their source_ columns; RunError when a goal
    lacks one of source_/delta_/target_/output_."""
    seen: dict[str, set[str]] = {}
    order: list[str] = []
    for column in header:
        if column in ANSWER_COLUMNS:
            continue
        for prefix in GOAL_PREFIXES:
            if column.startswith(prefix) and len(column) > len(prefix):
                goal = column[len(prefix):]
                seen.setdefault(goal, set()).add(prefix)
                if goal not in order:
                    order.append(goal)
    # output_<x> alone (no source/delta/target) is some other output column, not a goal
    goals = [g for g in order if seen[g] - {"output_"}]
    if not goals:
        raise RunError(f"{path}: no goal columns found (expected source_<goal>, delta_<goal>, "
                       f"target_<goal>, output_<goal>; columns present: {', '.join(header)})")
    problems = []
    for g in goals:
        missing = [p + g for p in GOAL_PREFIXES if p not in seen[g]]
        if missing:
            problems.append(f"goal '{g}' lacks {', '.join(missing)}")
    if "text" not in header:
        problems.insert(0, "missing column text")
    if problems:
        raise RunError(f"{path}: inconsistent goal columns: " + "; ".join(problems))
    return goals


def _outputs(header: list[str], body: list[list[str]], goals: list[str], problems: Problems
             ) -> np.ndarray:
    """(rows, goals) output values; NaN for an empty cell; non-numbers and values outside
    [0, 1] go to `problems`. Rows are numbered from 1."""
    index = {c: i for i, c in enumerate(header)}
    out = np.full((len(body), len(goals)), np.nan)
    for r, record in enumerate(body):
        if len(record) != len(header):
            continue  # reported by the probe reader
        for j, g in enumerate(goals):
            value = parse_number(record[index["output_" + g]], "output_" + g, r + 1, problems)
            if not math.isnan(value) and not 0.0 <= value <= 1.0:
                problems.add(r + 1, f"output_{g} = {value!r} is outside [0, 1]")
                value = math.nan
            out[r, j] = value
    return out


def _probe_hash(name: str, table: ProbeTable) -> str:
    def cells(a: np.ndarray | None) -> list | None:
        return None if a is None else [[None if math.isnan(v) else v for v in row]
                                       for row in a.tolist()]

    content = hashlib.sha256(json.dumps(
        [table.goals, [text_hash(t) for t in table.texts], cells(table.source),
         cells(table.delta), cells(table.target), cells(table.source_raw)],
        allow_nan=False).encode()).hexdigest()
    return stable_hash({"kind": "reference-csv", "probe": name, "content": content})


def import_probe(con, path: str | Path, goals: list[str], *, probe_hash: str, name: str,
                 space_hash: str | None) -> ProbeTable:
    """Read a spec's CSV probe (the reference layout over `goals`, checked) and store it under
    `probe_hash`; returns its rows."""
    imported = read_reference_csv(path, goals)
    save_imported_probe(con, probe_hash, name, space_hash, imported)
    return imported


def import_reference(con, path: str | Path, *, model: str, intervention: str,
                     probe: str = "reference") -> ImportedResults:
    """Load a results file into the store open on `con` (read-write)."""
    for label, value in (("--model", model), ("--intervention", intervention),
                         ("--probe", probe)):
        if not NAME.match(value):
            raise UsageError(f"{label} {value!r}: use {NAME_RULE} (a name like a spec's)")
    path = Path(path)
    header, body = read_csv_records(path, "results CSV")
    goals = find_goals(header, path)
    problems = Problems(path, "results CSV")  # every problem of the file, listed together
    table = parse_reference_rows(path, header, body, goals, problems)
    outputs = _outputs(header, body, goals, problems)
    problems.raise_if_any()
    answer_column = next((c for c in ANSWER_COLUMNS if c in header), None)
    used = {"text", *goals, *(p + g for p in GOAL_PREFIXES for g in goals), *ANSWER_COLUMNS}
    extra = [c for c in header if c not in used]
    index = {c: i for i, c in enumerate(header)}

    file_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    probe_hash = _probe_hash(probe, table)
    gen_hash = stable_hash({"kind": "reference-csv", "probe_hash": probe_hash, "model": model,
                            "intervention": intervention, "file": file_sha})
    rows = table.n_rows
    answers = [body[r][index[answer_column]] if answer_column else None for r in range(rows)]
    # A row with no output value at all was not answered (or not scored): a failed call.
    ok = ~np.isnan(outputs).all(axis=1)
    settings = {"kind": "reference-csv", "file": str(path.resolve()), "sha256": file_sha,
                "goals": goals, "answer_column": answer_column,
                "extra": {c: [body[r][index[c]] for r in range(rows)] for c in extra}}

    # The ids a spec's plan gives a probe and a generate stage of these names: a run of a
    # spec then replaces the import in `current`.
    gen_key = GenerateKey(model=model, intervention=intervention, probe=probe)
    probe_id, gen_id = ProbeKey(probe=probe).id, gen_key.id
    previous = current_hash(con, probe_id)
    orphaned: list[str] = []
    if previous and previous != probe_hash:
        orphaned = [f"{m}/{i}" for m, i in current_generations_over(con, previous)
                    if (m, i) != (model, intervention)]

    save_probe(con, probe_hash, probe, None, table,
               info={"kind": "reference-csv", "file": path.name, "sha256": file_sha})
    d = len(goals)
    row_id = np.arange(rows, dtype=np.int32)
    keep = np.repeat(ok, d)
    values = outputs.reshape(-1)[keep]
    replace_generation(
        con, gen_hash, model=model, intervention=intervention, probe_hash=probe_hash,
        settings=json.dumps(settings),
        calls={"row_id": row_id, "sample": np.zeros(rows, np.int32),
               "raw_answer": answers, "answer": answers,
               "status": ["ok" if k else "error" for k in ok],
               "error": [None if k else "imported row without output values" for k in ok]},
        outputs={"row_id": np.repeat(row_id, d)[keep],
                 "sample": np.zeros(int(keep.sum()), np.int32),
                 "goal": np.tile(np.array(goals, dtype=object), rows)[keep].tolist(),
                 "raw": [None] * int(keep.sum()),
                 "value": [None if math.isnan(v) else float(v) for v in values]},
        current=[(probe_id, probe_hash), (gen_id, gen_hash)])
    return ImportedResults(probe_name=probe, probe_hash=probe_hash, gen_hash=gen_hash,
                           goals=goals, rows=rows, ok=int(ok.sum()), extra_columns=extra,
                           answer_column=answer_column,
                           replaced_probe=previous if previous != probe_hash else None,
                           orphaned=orphaned)
