"""`steerdsl export-train SPEC PROBE -o DIR [--intervention NAME]`: a drawn probe as a training
set for GRPO elsewhere (train.parquet, train.jsonl, meta.json; docs/running.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="a .steer file")
    p.add_argument("probe", metavar="PROBE", help="the probe whose rows to export (drawn)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder to write")
    p.add_argument("--intervention", metavar="NAME",
                   help="prompt as this intervention does (default: the built-in direct prompt, "
                        "no negative suffix, no-explain on)")
    p.add_argument("--force", action="store_true",
                   help="write into DIR even when it holds other files (never over the spec or "
                        "its store)")


def run(args: argparse.Namespace) -> int:
    import steerdsl
    from steerdsl.errors import RunError, UsageError
    from steerdsl.plan.keys import ProbeKey, SpaceKey
    from steerdsl.store.db import open_store, store_errors
    from steerdsl.store.owner import check_spec_store
    from steerdsl.store.space import load_bounds
    from steerdsl.train.dataset import training_set
    from steerdsl.train.export import check_folder, write_training_set
    from steerdsl.words import count

    path = Path(args.spec)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if path.suffix.lower() in (".duckdb", ".db"):
        raise UsageError("export-train needs the spec (its prompts and goals), not the store: "
                         "steerdsl export-train SPEC PROBE -o DIR")
    plan = steerdsl.load(str(path)).plan()
    names = [p.name for p in plan.probes]
    if args.probe not in names:
        raise UsageError(f"{path} has no probe '{args.probe}'; its probes: "
                         f"{', '.join(names) if names else 'none'}")
    store = Path(plan.experiment.store)
    folder = check_folder(args.output, inputs=[path, store], force=args.force)
    if not store.is_file():
        raise RunError(f"probe {args.probe} has not been drawn yet (no store at {store}): run "
                       f"`steerdsl run {path} --until probe` first")
    check_spec_store(plan)  # another spec's probe is not this spec's
    with store_errors(store):
        con = open_store(store, read_only=True)
        try:
            data = training_set(plan, con, args.probe, args.intervention)
            bounds = load_bounds(con, plan.stage(SpaceKey()).hash)
        finally:
            con.close()
    meta = {"spec": str(path), "spec_hash": plan.spec_hash, "probe": args.probe,
            "probe_hash": plan.stage(ProbeKey(probe=args.probe)).hash,
            "intervention": args.intervention,
            "bounds": {g: {"lo": lo, "hi": hi} for g, (lo, hi) in bounds.items()}}
    write_training_set(folder, data, meta)
    print(f"wrote {count(len(data), 'row')} of probe {args.probe} to {folder} "
          "(train.parquet, train.jsonl, meta.json)")
    return 0
