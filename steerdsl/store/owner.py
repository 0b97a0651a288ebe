"""Who a store belongs to: one spec, or `steerdsl import-reference`.

The views follow `current`, and a run sets `current` to its own spec's stages: two specs
writing one store would each show the other's results, and a run would hide imported results.
So a store records its owner in `meta`, and every other spec (or an import into a spec's
store) is refused with what to do instead. The same spec edited keeps its store; so does a
spec moved or renamed (its old file is gone), and a store copied or moved with its project
(its recorded path is not where it is now).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from steerdsl.errors import StoreError

IMPORT = "import"
SPEC = "spec"


@dataclass(frozen=True)
class Owner:
    kind: str  # SPEC or IMPORT
    spec_path: str | None = None
    experiment: str | None = None

    def describe(self) -> str:
        if self.kind == IMPORT:
            return "results imported with `steerdsl import-reference`"
        return f"the results of spec {self.spec_path} (experiment {self.experiment})"


IMPORTS = Owner(IMPORT)


def spec_owner(plan) -> Owner:
    """The owner a run of `plan` (a steerdsl.plan.model.Plan) records."""
    return Owner(SPEC, plan.spec_path, plan.experiment.name)


def recorded(con: duckdb.DuckDBPyConnection) -> tuple[Owner, str | None] | None:
    """The store's owner and the store path it was recorded at (None when unknown), or None.

    Stores made before owners were recorded are attributed to their latest run's spec, or to
    imports when they hold only imported results."""
    from steerdsl.store.db import is_store

    if not is_store(con):
        return None
    meta = dict(con.execute("SELECT key, value FROM meta WHERE key LIKE 'owner%'").fetchall())
    if meta.get("owner") in (SPEC, IMPORT):
        return (Owner(meta["owner"], meta.get("owner_spec"), meta.get("owner_experiment")),
                meta.get("owner_store"))
    last = con.execute("SELECT spec_path, json_extract_string(plan, '$.experiment.name') "
                       "FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    if last is not None:
        return Owner(SPEC, last[0], last[1]), None
    imported = con.execute("SELECT count(*) FROM generations "
                           "WHERE json_extract_string(settings, '$.kind') = 'reference-csv'"
                           ).fetchone()[0]
    return (IMPORTS, None) if imported else None


def conflict(con: duckdb.DuckDBPyConnection, store: str | Path, me: Owner) -> str | None:
    """Why `me` may not use this store (a message saying what to do), or None."""
    found = recorded(con)
    if found is None:
        return None
    owner, recorded_store = found
    if owner.kind == me.kind == IMPORT:
        return None
    if owner.kind == me.kind == SPEC and (
            owner.spec_path == me.spec_path
            or (recorded_store is not None and recorded_store != _abs(store))
            or owner.spec_path is None or not Path(owner.spec_path).is_file()):
        return None
    holds = f"the store {store} holds {owner.describe()}"
    if me.kind == IMPORT:
        return (f"{holds}; an import would drop out of its views at the spec's next run: "
                "import into a store of its own (--db OTHER.duckdb), and compare the two "
                f"with `steerdsl report {store} OTHER.duckdb`")
    if owner.kind == IMPORT:
        return (f"{holds}, which a run of {me.spec_path} would hide from the views: give the "
                "spec a store of its own (`store \"runs/NAME.duckdb\"` in its experiment block)")
    return (f"{holds}; two specs in one store would show each other's results: give "
            f"{me.spec_path} a store of its own (`store \"runs/{me.experiment}.duckdb\"` in its "
            "experiment block), or run the spec that owns this one")


def claim(con: duckdb.DuckDBPyConnection, store: str | Path, me: Owner) -> None:
    """Record `me` as the store's owner, or raise StoreError when another owns it."""
    problem = conflict(con, store, me)
    if problem is not None:
        raise StoreError(problem)
    rows = [("owner", me.kind), ("owner_spec", me.spec_path),
            ("owner_experiment", me.experiment), ("owner_store", _abs(store))]
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)


def check_spec_store(plan) -> None:
    """For readers given a spec: refuse its store when it holds another spec's results (what
    they would show is not this spec's)."""
    from steerdsl.store.db import open_store, store_errors

    store = Path(plan.experiment.store)
    if not store.is_file():
        return
    con = open_store(store, read_only=True)
    try:
        with store_errors(store):
            problem = conflict(con, store, spec_owner(plan))
    finally:
        con.close()
    if problem is not None:
        raise StoreError(problem)


def _abs(store: str | Path) -> str:
    return str(Path(store).expanduser().absolute())
