"""space — each goal's normalization bounds: fixed, or quantiles of a corpus's raw values."""

from __future__ import annotations

from steerdsl.plan.model import Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "space"
NEEDS = ("measure",)
CURRENT = True


def run(ctx: RunContext, stage: Stage) -> Outcome:
    if ctx.done(stage):
        return SKIPPED  # the state reads the bounds from the store when a later stage asks
    from steerdsl.goals.normalize import space_bounds
    from steerdsl.store.space import save_space

    bounds = space_bounds(ctx.plan.goals, ctx.state.raw)
    save_space(ctx.con, stage.hash, [(i, g.name, g.measure_id, *bounds[g.name])
                                     for i, g in enumerate(ctx.plan.goals)])
    ctx.state.keep_bounds(bounds)
    return Outcome(done={})


def bounds_outside_a_run(plan, goals, con, db, workers, base_dir) -> dict[str, tuple[float, float]]:
    """`steerdsl measure --spec`'s bounds, resolved as this stage resolves them: fixed bounds
    as written; quantile bounds from the spec's store when a run resolved them, else from
    measuring the corpus now (through `con`, the --db cache, if given)."""
    import sys

    from steerdsl.goals.normalize import space_bounds
    from steerdsl.plan.model import QuantileNorm
    from steerdsl.words import count

    stored = _stored_bounds(plan, con, db)
    corpus_raw: dict[str, dict] = {}

    def raw_of(corpus: str) -> dict:
        if corpus not in corpus_raw:
            from steerdsl.corpus.read import read_corpus
            from steerdsl.goals.measure import measure_texts

            texts = read_corpus(plan.corpus(corpus))
            print(f"note: measuring corpus '{corpus}' ({count(len(texts), 'text')}) for "
                  "quantile bounds (run the spec once to store them, or pass --db to cache "
                  "measurements)", file=sys.stderr)
            quantile_goals = [g for g in goals if isinstance(g.normalize, QuantileNorm)
                              and g.normalize.corpus == corpus]
            corpus_raw[corpus] = measure_texts(
                [t.text for t in texts], quantile_goals, con=con, workers=workers,
                ids=[t.text_id for t in texts], base_dir=base_dir, retry_errors=True).raw
        return corpus_raw[corpus]

    bounds = space_bounds([g for g in goals if g.name not in stored], raw_of)
    return {g.name: stored.get(g.name) or bounds[g.name] for g in goals}


def _stored_bounds(plan, cache_con, db: str | None) -> dict[str, tuple[float, float]]:
    """Bounds a run of this very plan resolved (the same space hash: the same measures and
    normalizations), if its store has them and can be read."""
    from pathlib import Path

    import duckdb

    from steerdsl.errors import StoreError
    from steerdsl.plan.keys import SpaceKey
    from steerdsl.store.db import open_store
    from steerdsl.store.space import load_bounds

    store = Path(plan.experiment.store)
    if not store.is_file():
        return {}
    space = plan.stage(SpaceKey()).hash
    same = db is not None and Path(db).resolve() == store.resolve()
    try:
        con = cache_con if same else open_store(store, read_only=True)
    except (StoreError, duckdb.Error):
        return {}  # in use by a run, or not a store: measure the corpus instead
    try:
        return load_bounds(con, space, {g.name: g.measure_id for g in plan.goals})
    except duckdb.Error:  # a file without the table: measure the corpus instead
        return {}
    finally:
        if not same:
            con.close()
