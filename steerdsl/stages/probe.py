"""probe:P — the probe's rows: drawn from a corpus (density-ratio weights, METHOD.md 2) or
read from a CSV in the reference tool's layout."""

from __future__ import annotations

import numpy as np

from steerdsl.plan import keys
from steerdsl.plan.model import CsvProbePlan, SampledProbePlan, Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "probe"
NEEDS = ("measure", "space")
CURRENT = True


def run(ctx: RunContext, stage: Stage) -> Outcome:
    if ctx.done(stage):
        return SKIPPED
    probe = ctx.plan.probe(stage.key.probe)
    bar = ctx.display.stage(f"probe {probe.name}", 1)
    if isinstance(probe, SampledProbePlan):
        info = _draw(ctx, stage, probe)
    else:
        info = _read_csv(ctx, stage, probe)
    bar.update(1, 1)
    return Outcome(done=info)


def _draw(ctx: RunContext, stage: Stage, probe: SampledProbePlan) -> dict:
    from steerdsl.probe.draw import draw_probe
    from steerdsl.store.probes import save_drawn_probe

    goals = [g.name for g in ctx.plan.goals]
    rows = ctx.state.corpus(probe.corpus)
    raw = ctx.state.raw(probe.corpus)
    norm = ctx.state.normalized(raw)
    sources = np.column_stack([norm[g] for g in probe.goals])
    # Rows carry every goal of the space and are scored on all of them: a text missing any
    # goal's value is never drawn, whether the probe moves that goal or not.
    missing = {g: np.isnan(raw[g]) for g in goals}
    unmeasured = np.column_stack(list(missing.values())).any(axis=1)
    if unmeasured.any():
        by_goal = ", ".join(f"{g}: {int(m.sum())}" for g, m in missing.items() if m.any())
        ctx.display.say(f"  probe {probe.name}: {int(unmeasured.sum())} of {len(rows)} texts "
                        f"of corpus {probe.corpus} left out: a goal's value could not be "
                        f"measured ({by_goal}; see the measurements table)")
    drawn = draw_probe(probe, sources, unmeasured=unmeasured)
    save_drawn_probe(ctx.con, stage.hash, probe, _space_hash(ctx), drawn,
                     texts=[(r[0], r[1]) for r in rows],
                     raw={g: raw[g] for g in goals}, normalized={g: norm[g] for g in goals})
    if drawn.auc is not None:
        ctx.display.say(f"  probe {probe.name}: density-ratio classifier AUC {drawn.auc:.3f} "
                        "(0.5 = corpus already uniform)")
    return {"rows": int(len(drawn.source_index)), "auc": drawn.auc,
            "unmeasured": int(unmeasured.sum())}


def _read_csv(ctx: RunContext, stage: Stage, probe: CsvProbePlan) -> dict:
    from steerdsl.reference.layout import read_reference_csv
    from steerdsl.store.probes import save_imported_probe

    imported = read_reference_csv(probe.path, [g.name for g in ctx.plan.goals])
    save_imported_probe(ctx.con, stage.hash, probe.name, _space_hash(ctx), imported)
    return {"rows": imported.n_rows}


def _space_hash(ctx: RunContext) -> str:
    return ctx.plan.stage(keys.SpaceKey()).hash
