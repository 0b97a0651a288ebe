"""`steerdsl export-probe SPEC -o FILE.csv [--probe NAME]`: a stored probe in the reference
tool's CSV layout (text, <goal>, source_<goal>, delta_<goal>, target_<goal>)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from steerdsl.plan.model import Stage


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC",
                   help="a .steer file (or its store, a .duckdb file)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.csv", help="where to write")
    p.add_argument("--probe", metavar="NAME",
                   help="which probe (default: the one the spec evaluates, or its only probe)")
    p.add_argument("--force", action="store_true",
                   help="replace FILE.csv even when it is not a probe CSV (never the spec or "
                        "its store)")


def run(args: argparse.Namespace) -> int:
    from steerdsl.errors import UsageError
    from steerdsl.outputs import check_output
    from steerdsl.reference.export import PROBE_CSV, STORE_SUFFIXES, export_current_probe
    from steerdsl.store.db import store_errors
    from steerdsl.words import count

    path = Path(args.spec)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if path.suffix.lower() in STORE_SUFFIXES:
        check_output(args.output, PROBE_CSV, inputs=[path], force=args.force)
        with store_errors(path):
            stored = export_current_probe(path, args.probe, args.output)
    else:
        store, stage = _from_spec(path, args.probe)
        check_output(args.output, PROBE_CSV, inputs=[path, store], force=args.force)
        with store_errors(store):
            stored = export_current_probe(store, stage.key.probe, args.output, spec=str(path),
                                          stage_id=stage.id)
    print(f"wrote {count(stored.table.n_rows, 'row')} of probe {stored.name} ({stored.probe_hash}) "
          f"to {args.output}")
    return 0


def _from_spec(path: Path, probe: str | None) -> tuple[str, Stage]:
    """The spec's store and the stage of the probe to export."""
    import steerdsl
    from steerdsl.errors import UsageError
    from steerdsl.plan.keys import ProbeKey

    from steerdsl.store.owner import check_spec_store

    plan = steerdsl.load(str(path)).plan()
    check_spec_store(plan)  # another spec's probe is not this spec's
    names = [p.name for p in plan.probes]
    if probe is None:
        if plan.evaluate is not None:
            probe = plan.evaluate.probe
        elif len(names) == 1:
            probe = names[0]
        else:
            raise UsageError(f"{path} defines {'no probe' if not names else 'several probes'}"
                             + (f" ({', '.join(names)}): choose one with --probe NAME"
                                if names else ""))
    elif probe not in names:
        raise UsageError(f"{path} has no probe '{probe}'; its probes: "
                         f"{', '.join(names) if names else 'none'}")
    return plan.experiment.store, plan.stage(ProbeKey(probe=probe))
