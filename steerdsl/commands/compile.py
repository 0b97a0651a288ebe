"""`steerdsl compile SPEC [--json]`: the execution plan.

No network, no models, no spaCy/litellm; DuckDB is imported only to read which stages the
store has already done, and only when the store file exists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="the .steer file")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    from steerdsl.api import load

    spec = load(args.spec)
    for w in spec.warnings:
        print(w.render(spec.source), file=sys.stderr)
    plan = spec.plan()
    if args.json:
        print(plan.model_dump_json(indent=2))
        return 0
    done, note = stages_done(plan)
    print(render_plan(plan, done, note))
    return 0


def stages_done(plan) -> tuple[set[str], str | None]:
    """Hashes of finished stages in the plan's store (read-only), and a note when unknown.
    A damaged store is an error (StoreDamaged): the plan is right, what is done cannot be."""
    store = Path(plan.experiment.store)
    if not store.is_file():
        return set(), None
    import duckdb

    from steerdsl.errors import StoreError
    from steerdsl.store.db import StoreDamaged, open_store, store_errors
    from steerdsl.store.owner import conflict, spec_owner

    try:
        con = open_store(store, read_only=True)
    except StoreDamaged:
        raise
    except StoreError as e:
        return set(), f"done stages unknown: {e}"
    try:
        with store_errors(store):
            problem = conflict(con, store, spec_owner(plan))
            if problem is not None:  # its stages done are another spec's
                return set(), f"note: {problem}"
            done = con.execute("SELECT stage_hash FROM stages_done").fetchall()
            return {r[0] for r in done}, None
    except duckdb.Error as e:  # an older or foreign file: say so, the plan is still right
        return set(), f"done stages unknown: cannot read stages_done ({type(e).__name__})"
    finally:
        con.close()


def render_plan(plan, done: set[str], note: str | None) -> str:
    e = plan.experiment
    lines = [
        f"plan {plan.spec_hash} for {plan.spec_path}",
        f"experiment {e.name}: seed {e.seed}, store {e.store}"
        + (f", budget {e.budget_usd} USD" if e.budget_usd is not None else ""),
        "",
    ]
    width = max([len(s.id) for s in plan.stages] + [5])
    lines.append(f"  {'stage':<{width}}  {'hash':<16}  {'status':<7}  inputs / counts")
    for s in plan.stages:
        status = "done" if s.hash in done else "todo"
        inputs = ", ".join(s.inputs) if s.inputs else "-"
        counts = ", ".join(f"{k} {v:,}" for k, v in s.counts.items())
        lines.append(f"  {s.id:<{width}}  {s.hash}  {status:<7}  <- {inputs}"
                     + (f"; {counts}" if counts else ""))
    lines.append("")
    if plan.totals:
        lines.append("totals: " + ", ".join(f"{k} {v:,}" for k, v in plan.totals.items()))
    n_done = sum(1 for s in plan.stages if s.hash in done)
    lines.append(f"{n_done} of {len(plan.stages)} stages done")
    if note:
        lines.append(note)
    lines += _notes(plan)
    return "\n".join(lines)


def _notes(plan) -> list[str]:
    """Problems the counts already show, before anything runs."""
    from steerdsl.plan.model import SampledProbePlan
    from steerdsl.words import count

    out = []
    for p in plan.probes:
        if not isinstance(p, SampledProbePlan):
            continue
        texts = plan.stage(f"corpus:{p.corpus}").counts.get("texts")
        if texts is not None and texts < p.sources:
            out.append(f"note: probe {p.name} draws {count(p.sources, 'source')} but corpus "
                       f"{p.corpus} has {count(texts, 'text')} (before filters)")
    return out
