"""probe:P — the probe's rows: drawn from a corpus (density-ratio weights, METHOD.md 2) or
read from a CSV in the reference tool's layout.

A probe never draws the source texts of the probes it excludes (by text hash, so a CSV probe
can be excluded too). A training probe and the evaluated probe must share no source text:
whichever of the two is stored second checks it, so a tuned model is never evaluated on a
text it was trained on."""

from __future__ import annotations

import numpy as np

from steerdsl.errors import RunError
from steerdsl.plan import keys
from steerdsl.plan.model import (CsvProbePlan, FinetuneIntervention, PromptIntervention,
                                 SampledProbePlan, Stage)
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
    _check_no_overlap(ctx, probe.name)
    bar.update(1, 1)
    return Outcome(done=info)


def _draw(ctx: RunContext, stage: Stage, probe: SampledProbePlan) -> dict:
    from steerdsl.probe.draw import draw_probe
    from steerdsl.store.probes import write_drawn_probe

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
    drawn = draw_probe(probe, sources, unmeasured=unmeasured,
                       excluded=_excluded(ctx, probe, rows))
    write_drawn_probe(ctx.con, stage.hash, probe, _space_hash(ctx), drawn,
                     texts=[(r[0], r[1]) for r in rows],
                     raw={g: raw[g] for g in goals}, normalized={g: norm[g] for g in goals})
    if drawn.auc is not None:
        ctx.display.say(f"  probe {probe.name}: density-ratio classifier AUC {drawn.auc:.3f} "
                        "(0.5 = corpus already uniform)")
    return {"rows": int(len(drawn.source_index)), "auc": drawn.auc,
            "unmeasured": int(unmeasured.sum())}


def _excluded(ctx: RunContext, probe: SampledProbePlan, rows: list) -> np.ndarray | None:
    """Which of the corpus's texts are sources of the probes this one excludes."""
    if not probe.exclude:
        return None
    hashes: set[str] = set()
    for name in probe.exclude:
        found = _sources_of(ctx, name)
        if found is None:
            raise RunError(f"probe {probe.name} excludes probe {name}, which is not in the "
                           f"store yet: its stage (probe:{name}) runs first")
        hashes |= found
    excluded = np.array([r[3] in hashes for r in rows], dtype=bool)
    if excluded.any():
        ctx.display.say(f"  probe {probe.name}: {int(excluded.sum())} of {len(rows)} texts of "
                        f"corpus {probe.corpus} left out: sources of "
                        f"{', '.join(probe.exclude)} (exclude)")
    return excluded


def _sources_of(ctx: RunContext, probe: str) -> set[str] | None:
    from steerdsl.store.probes import source_text_hashes

    return source_text_hashes(ctx.con, ctx.plan.stage(keys.ProbeKey(probe=probe)).hash)


def _check_no_overlap(ctx: RunContext, probe: str) -> None:
    """RunError when a training probe of an evaluated fine-tune (or the calibration probe of
    a calibrated intervention) shares source texts with the evaluated probe. Checked when
    either of the two is stored, once both are."""
    e = ctx.plan.evaluate
    if e is None:
        return
    ivs = list(map(ctx.plan.intervention, e.interventions))
    # (probe, what it is, why sharing texts is wrong)
    learning = sorted(
        {(iv.train.probe, "training", "the tuned model would be evaluated on texts it was "
          "trained on") for iv in ivs if isinstance(iv, FinetuneIntervention)}
        | {(iv.calibrate, "calibration", "the requests would be calibrated on texts they are "
            "evaluated on") for iv in ivs
           if isinstance(iv, PromptIntervention) and iv.calibrate is not None})
    for train, what, why in learning:
        if probe not in (train, e.probe) or train == e.probe:
            continue
        a, b = _sources_of(ctx, train), _sources_of(ctx, e.probe)
        if a is None or b is None:
            continue  # the other one checks when it is stored
        shared = len(a & b)
        if shared:
            raise RunError(
                f"{what} probe {train} shares {shared} source text"
                f"{'s' if shared != 1 else ''} with the evaluated probe {e.probe}: {why}; add "
                f"`exclude {e.probe}` to probe {train} (or draw it from another corpus)")


def _read_csv(ctx: RunContext, stage: Stage, probe: CsvProbePlan) -> dict:
    from steerdsl.reference.layout import read_reference_csv
    from steerdsl.store.probes import save_imported_probe

    imported = read_reference_csv(probe.path, [g.name for g in ctx.plan.goals])
    save_imported_probe(ctx.con, stage.hash, probe.name, _space_hash(ctx), imported)
    return {"rows": imported.n_rows}


def _space_hash(ctx: RunContext) -> str:
    return ctx.plan.stage(keys.SpaceKey()).hash
