"""corpus:C — read a corpus's files into the store (texts by hash, rows in order)."""

from __future__ import annotations

from steerdsl.plan.model import Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "corpus"
NEEDS: tuple[str, ...] = ()
CURRENT = False  # the views do not read corpora through `current`


def run(ctx: RunContext, stage: Stage) -> Outcome:
    if ctx.done(stage):
        return SKIPPED  # the state reads the rows from the store when a later stage asks
    from steerdsl.corpus.read import read_corpus
    from steerdsl.store.corpus import save_corpus
    from steerdsl.texts import text_hash

    name = stage.key.corpus
    bar = ctx.display.stage(f"read {name}", 1)
    texts = read_corpus(ctx.plan.corpus(name))
    rows = [(t.text_id, t.text, t.label, text_hash(t.text)) for t in texts]
    save_corpus(ctx.con, stage.hash, rows)
    bar.update(1, 1)
    ctx.state.keep_corpus(name, rows)
    return Outcome(done={"texts": len(rows)})
