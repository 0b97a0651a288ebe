"""Run one generate stage in its own process (for kill -9 tests):

    python tests/support/generate_child.py STORE.duckdb JOB.json STAGE_ID
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.gen_plans import load  # noqa: E402

from steerdsl.generate.stage import run_generate  # noqa: E402
from steerdsl.store.db import open_store  # noqa: E402


def main() -> None:
    store, job, stage_id = sys.argv[1:4]
    plan, rows = load(Path(job))
    con = open_store(store)
    print("started", flush=True)
    stats = run_generate(con, plan, plan.stage(stage_id), rows, retry_base_s=0.01)
    con.close()
    print(json.dumps({"ok": stats.ok, "errors": stats.errors, "requests": stats.requests}),
          flush=True)


if __name__ == "__main__":
    main()
