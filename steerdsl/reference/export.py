"""Exporting a stored probe in the reference tool's CSV layout (`steerdsl export-probe`)."""

from __future__ import annotations

from pathlib import Path

from steerdsl.errors import RunError, UsageError
from steerdsl.outputs import OutputKind, head_text, write_output
from steerdsl.reference.layout import reference_columns, write_reference_csv
from steerdsl.store.probes import StoredProbe, current_probes, load_probe
from steerdsl.store.stages import current_hash

STORE_SUFFIXES = (".duckdb", ".db")


def _is_probe_csv(path: Path) -> bool:
    """A file in exactly the layout export-probe writes (a results file, with output_
    columns, or any other CSV is not)."""
    import csv

    lines = head_text(path).splitlines()
    if not lines:
        return False
    header = next(csv.reader([lines[0]]))
    goals = [c[len("source_"):] for c in header if c.startswith("source_")]
    return bool(goals) and header in (reference_columns(goals, raw=True),
                                      reference_columns(goals, raw=False))


PROBE_CSV = OutputKind("the probe CSV", "a probe CSV", _is_probe_csv)


def export_current_probe(store: str | Path, name: str | None, out: str | Path,
                         spec: str | None = None, stage_id: str | None = None) -> StoredProbe:
    """Write the probe `name` of the store's latest run to `out` (checked first with
    steerdsl.outputs.check_output); with name None, the store's only probe. `spec` (for
    messages) is how the user named the experiment; `stage_id`, the id its plan gives the
    probe's stage (then the hash current for that stage is the probe exported)."""
    from steerdsl.store.db import open_store

    how = f"`steerdsl run {spec} --until probe`" if spec else "`steerdsl run SPEC --until probe`"
    store = Path(store)
    if not store.exists():
        what = f"probe {name}" if name else "no probe"
        raise RunError(f"{what} has not been drawn yet (no store at {store}): run {how} first")
    con = open_store(store, read_only=True)
    try:
        if stage_id is not None:
            probe_hash = current_hash(con, stage_id)
        else:
            probes = current_probes(con)
            if name is None:
                if not probes:
                    raise RunError(f"the store {store} holds no probe yet: run {how} first")
                if len(probes) > 1:
                    raise UsageError(f"the store holds several probes ({', '.join(probes)}): "
                                     "choose one with --probe NAME")
                name = next(iter(probes))
            probe_hash = probes.get(name)
        if probe_hash is None:
            raise RunError(f"probe {name} has not been drawn yet: run {how} first")
        stored = load_probe(con, probe_hash)
    finally:
        con.close()
    write_output(Path(out), PROBE_CSV, lambda path: write_reference_csv(path, stored.table))
    return stored
