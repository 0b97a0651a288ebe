"""`steerdsl compile SPEC [--json]`: the execution plan.

No network, no models, no spaCy/litellm; DuckDB is imported only to read what the store has
already done (finished stages, answers of unfinished generate stages, endpoints seen ignoring
`n`), and only when the store file exists.
"""

from __future__ import annotations

import argparse
import sys


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
    from steerdsl.store.plan_state import read_store

    print(render_plan(plan, read_store(plan)))
    return 0


def render_plan(plan, state) -> str:
    """The plan as `steerdsl compile` prints it; `state`: steerdsl.store.plan_state.StoreState."""
    from steerdsl.words import count

    e = plan.experiment
    lines = [
        f"plan {plan.spec_hash} for {plan.spec_path}",
        f"experiment {e.name}: seed {e.seed}, store {e.store}"
        + (f", budget {e.budget_usd} USD" if e.budget_usd is not None else "")
        + (f", executor ray {e.executor.address}" if e.executor is not None else ""),
        "",
    ]
    counts, one_by_one = _counts(plan, state)
    width = max([len(s.id) for s in plan.stages] + [5])
    lines.append(f"  {'stage':<{width}}  {'hash':<16}  {'status':<7}  inputs / counts")
    for s in plan.stages:
        status = "done" if s.hash in state.done else "todo"
        inputs = ", ".join(s.inputs) if s.inputs else "-"
        shown = ", ".join(f"{k} {v:,}" for k, v in counts[s.id].items())
        stored = state.answers.get(s.hash)
        if status == "todo" and stored is not None:
            status = "partial"
            ok, failed = stored
            total = s.counts.get("samples")
            stored_text = f"{ok:,} of {count(total, 'answer')}" if total else count(ok, "answer")
            shown += ("; " if shown else "") + f"{stored_text} stored" \
                + (f", {failed:,} failed" if failed else "")
        lines.append(f"  {s.id:<{width}}  {s.hash}  {status:<7}  <- {inputs}"
                     + (f"; {shown}" if shown else ""))
    lines.append("")
    totals = dict(plan.totals)
    if "requests" in totals:
        totals["requests"] += sum(counts[s.id].get("requests", 0) - s.counts.get("requests", 0)
                                  for s in plan.stages)
    if totals:
        lines.append("totals: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    n_done = sum(1 for s in plan.stages if s.hash in state.done)
    lines.append(f"{n_done} of {len(plan.stages)} stages done")
    if state.note:
        lines.append(state.note)
    lines += [f"note: {key} answers one sample per request (it ignored n in an earlier run): "
              "requests = samples" for key in one_by_one]
    lines += _notes(plan)
    return "\n".join(lines)


def _counts(plan, state) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Each stage's counts, with the requests of endpoints seen ignoring `n` made one per
    sample (as the generate stage will send them); and those endpoints' keys."""
    from steerdsl.store.capabilities import model_key

    out: dict[str, dict[str, int]] = {}
    one_by_one: list[str] = []
    for s in plan.stages:
        counts = dict(s.counts)
        if s.kind == "generate" and "samples" in counts and state.n_ignored:
            key = model_key(plan.model(s.key.model))
            if key in state.n_ignored and counts["requests"] != counts["samples"]:
                counts["requests"] = counts["samples"]
                if key not in one_by_one:
                    one_by_one.append(key)
        if s.kind == "generate" and "samples" in counts and _batch(plan, s):
            # one request per sample, sent in provider batch jobs
            counts["requests"] = counts["by batch"] = counts["samples"]
        if s.kind == "judge" and "verdicts" in counts \
                and plan.model(plan.judge(s.key.judge).model).batch:
            counts["by batch"] = counts["verdicts"]  # one request per verdict
        out[s.id] = counts
    return out, one_by_one


def _batch(plan, stage) -> bool:
    """Whether a generate stage's requests go as provider batch jobs (`batch on`): a prompt
    intervention asks the declared model (steerdsl.stages.generate.resolve_model, not
    imported: compile imports nothing heavy); a fine-tune's adapter is asked one by one."""
    return plan.intervention(stage.key.intervention).kind == "prompt" \
        and plan.model(stage.key.model).batch


def _notes(plan) -> list[str]:
    """Problems the counts already show, before anything runs."""
    from steerdsl.plan.keys import CorpusKey
    from steerdsl.plan.model import SampledProbePlan
    from steerdsl.words import count

    out = []
    for p in plan.probes:
        if not isinstance(p, SampledProbePlan):
            continue
        texts = plan.stage(CorpusKey(corpus=p.corpus)).counts.get("texts")
        if texts is not None and texts < p.sources:
            out.append(f"note: probe {p.name} draws {count(p.sources, 'source')} but corpus "
                       f"{p.corpus} has {count(texts, 'text')} (before filters)")
    return out
