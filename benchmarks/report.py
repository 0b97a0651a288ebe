"""How long `steerdsl report` takes on a large store, and how big the HTML gets.

Builds (once, cached under the temp folder) a synthetic store of about 110k answers: a probe of
2048 rows, 3 models x (direct, negprompt, best-of-16), then times write_report on it.

    .venv/bin/python benchmarks/report.py [--rows 2048] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.synthetic_store import write_synthetic_store  # noqa: E402

from steerdsl.report import write_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2048, help="probe rows (64 x 32 in the paper)")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "steerdsl-bench")
    args = parser.parse_args()
    args.keep.mkdir(parents=True, exist_ok=True)
    store = args.keep / f"report-{args.rows}.duckdb"
    if not store.exists():
        start = time.perf_counter()
        info = write_synthetic_store(
            store, name="benchmark", models=("llama", "gpt", "qwen"),
            interventions={"direct": 1, "negprompt": 1, "best16": 16},
            n_sources=args.rows // 32, per_source=32, words=40, seed=1)
        print(f"built store: {info.calls:,} calls ({info.failed:,} failed), "
              f"{info.calls * len(info.goals):,} answer-goal rows, "
              f"{time.perf_counter() - start:.1f} s")
    out = args.keep / f"report-{args.rows}.html"
    start, cpu = time.perf_counter(), time.process_time()
    write_report([store], out)
    seconds = time.perf_counter() - start
    # CPU time too: on a shared machine the wall time depends on the neighbours
    print(f"report: {seconds:.2f} s wall, {time.process_time() - cpu:.2f} s CPU (all threads), "
          f"{out.stat().st_size / 1e6:.2f} MB -> {out}")
    start = time.perf_counter()
    write_report([store, store], args.keep / f"report-{args.rows}-compare.html")
    print(f"comparison report (the store against itself): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
