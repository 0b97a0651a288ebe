"""What an existing store says about a plan, read-only, for `steerdsl compile`: the stages
done, the answers of unfinished generate stages, the endpoints seen ignoring `n`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StoreState:
    """What an existing store says about the plan (read-only)."""

    done: set[str] = field(default_factory=set)  # hashes of finished stages
    # generate stage hash -> (samples stored as ok, samples stored as error)
    answers: dict[str, tuple[int, int]] = field(default_factory=dict)
    n_ignored: set[str] = field(default_factory=set)  # model keys seen ignoring `n`
    note: str | None = None


def read_store(plan) -> StoreState:
    """The finished stages of the plan's store, the answers of its unfinished generate stages
    and the endpoints seen ignoring `n`; an empty state (with a note when the file is not
    readable) otherwise. A damaged store is an error (StoreDamaged): the plan is right, what
    is done cannot be."""
    store = Path(plan.experiment.store)
    if not store.is_file():
        return StoreState()
    import duckdb

    from steerdsl.errors import StoreError
    from steerdsl.store import capabilities
    from steerdsl.store.call_stats import answer_counts
    from steerdsl.store.db import StoreDamaged, open_store, store_errors
    from steerdsl.store.owner import conflict, spec_owner
    from steerdsl.store.stages import done_hashes

    try:
        con = open_store(store, read_only=True)
    except StoreDamaged:
        raise
    except StoreError as e:
        return StoreState(note=f"done stages unknown: {e}")
    try:
        with store_errors(store):
            problem = conflict(con, store, spec_owner(plan))
            if problem is not None:  # its stages done are another spec's
                return StoreState(note=f"note: {problem}")
            state = StoreState(done=done_hashes(con))
            state.answers = answer_counts(con, [s.hash for s in plan.stages
                                                if s.kind in ("generate", "calibrate")])
            state.n_ignored = capabilities.not_honoured(con, "n")
            return state
    except duckdb.Error as e:  # an older or foreign file: say so, the plan is still right
        return StoreState(note=f"done stages unknown: cannot read stages_done "
                               f"({type(e).__name__})")
    finally:
        con.close()
