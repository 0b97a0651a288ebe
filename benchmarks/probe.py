"""Speed of weighting, drawing, storing and exporting large probes; prints the numbers.

    .venv/bin/python benchmarks/probe.py [--quick]

Corpora are synthetic skewed vectors (Beta(1.5, 5) per goal, d = 4), the shape that makes the
density-ratio fit work hardest. Nothing here asserts a time: read the numbers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from steerdsl.plan.model import SampledProbePlan
from steerdsl.probe.draw import draw_probe
from steerdsl.reference.layout import read_reference_csv, write_reference_csv
from steerdsl.store.probes import load_probe, save_probe
from steerdsl.probe.table import table_from_drawn
from steerdsl.probe.weights import density_ratio_weights
from steerdsl.store.db import open_store

GOALS = ["reading_difficulty", "formality", "textual_diversity", "text_length"]


def timed(label: str, fn):
    t0 = time.perf_counter()
    result = fn()
    print(f"  {label:<44} {time.perf_counter() - t0:8.3f} s")
    return result


def case(n_corpus: int, sources: int, requests: int, folder: Path, io: bool) -> None:
    rng = np.random.default_rng(0)
    corpus = rng.beta(1.5, 5.0, (n_corpus, len(GOALS)))
    plan = SampledProbePlan(name="bench", corpus="c", goals=GOALS, sources=sources,
                            requests_per_source=requests, active_min=1, active_max=3, seed=1)
    print(f"corpus {n_corpus:,} x {len(GOALS)}, probe {sources:,} sources x {requests} "
          f"requests = {sources * requests:,} rows")
    ratio = timed("density-ratio fit + AUC", lambda: density_ratio_weights(
        corpus, np.random.default_rng(1).random(corpus.shape)))
    print(f"    (Newton iterations {ratio.fit.iterations}, AUC {ratio.auc:.3f})")
    drawn = timed("draw_probe, weighted (fit included)", lambda: draw_probe(plan, corpus))
    timed("draw_probe, unweighted", lambda: draw_probe(
        plan.model_copy(update={"weighting": "none"}), corpus))
    if not io:
        return
    texts = [f"Source text {i}: " + "lorem ipsum " * 40 for i in range(n_corpus)]
    ids = [f"corpus.jsonl:{i + 1}" for i in range(n_corpus)]
    table = table_from_drawn(drawn, texts, ids, GOALS, corpus, corpus * 100)
    con = open_store(folder / f"bench_{n_corpus}_{sources}.duckdb")
    timed("save_probe (DuckDB, Arrow)", lambda: save_probe(con, "h", "bench", None, table))
    timed("load_probe", lambda: load_probe(con, "h"))
    con.close()
    csv_path = folder / f"bench_{n_corpus}_{sources}.csv"
    timed("write_reference_csv", lambda: write_reference_csv(csv_path, table))
    timed("read_reference_csv", lambda: read_reference_csv(csv_path, GOALS))


def corpus_case(n: int, folder: Path) -> None:
    import json

    from steerdsl.corpus.read import read_corpus
    from steerdsl.plan.model import CorpusPlan, CorpusSource

    rng = np.random.default_rng(2)
    path = folder / "corpus.jsonl"
    sentence = "The committee met on Tuesday to discuss the new budget for the library. "
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            k = int(rng.integers(1, 12))
            f.write(json.dumps({"text": f"Text {i % (n // 2)}. " + sentence * k,
                                "label": "x"}) + "\n")
    src = CorpusSource(pattern=str(path), format="jsonl", text_field="text",
                       label_field="label", files=[])
    print(f"corpus file {n:,} jsonl records, {path.stat().st_size / 1e6:.1f} MB")
    plain = CorpusPlan(name="c", sources=[src], min_words=20, max_words=2048, dedupe=True)
    kept = timed("read_corpus (words filter + dedupe)", lambda: read_corpus(plain))
    print(f"    ({len(kept):,} texts kept)")
    chunked = plain.model_copy(update={"chunk_sentences": 3})
    kept = timed("read_corpus + chunking (3 sentences)", lambda: read_corpus(chunked))
    print(f"    ({len(kept):,} texts kept)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="draw only; no store or CSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        case(100_000, 100_000, 1, folder, not args.quick)
        case(10_000, 3_125, 32, folder, not args.quick)
        case(100_000, 3_125, 32, folder, not args.quick)
        corpus_case(20_000, folder)


if __name__ == "__main__":
    main()
