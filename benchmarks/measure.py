"""Speed of measuring the paper's four goals: steerdsl (cold, and cached in a DuckDB store)
against a reference-style baseline (a full spaCy pipeline call per text for formality, a
second full call per text for the diversity tokens, textstat per text).

Each variant runs as its own process and is timed whole (interpreter start, imports, spaCy
load, reading the texts), because that is what a user waits for.

    .venv/bin/python benchmarks/measure.py [--texts 400] [--workers N]

Texts: data/demo/corpus.jsonl, repeated with a numbered suffix (so every text is distinct and
nothing is deduplicated) up to --texts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "demo" / "corpus.jsonl"
GOALS = ("flesch_kincaid_grade", "heylighen_dewaele", "mtld", "token_count")


def build_texts(n: int) -> list[str]:
    base = []
    if CORPUS.is_file():
        base = [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines()
                if line.strip()]
    if not base:
        sys.exit(f"no texts in {CORPUS}")
    return [base[i % len(base)] + ("" if i < len(base) else f" (Copy {i // len(base)}.)")
            for i in range(n)]


# --- the pieces, each run in its own process ------------------------------------------------

def piece_baseline(path: str) -> dict:
    import spacy
    import textstat

    from steerdsl.goals.formality import heylighen_dewaele
    from steerdsl.goals.mtld import mtld
    from steerdsl.goals.nlp import PIPELINES

    texts = json.loads(Path(path).read_text("utf-8"))
    for name in PIPELINES:
        try:
            nlp = spacy.load(name)  # the full pipeline, as the reference loaded it
            break
        except OSError:
            continue
    values = []
    for text in texts:
        doc = nlp(text)  # formality
        words = [t for t in doc if t.is_alpha]
        fm = heylighen_dewaele([t.lower_ for t in words], [t.pos_ for t in words])
        doc2 = nlp(text)  # diversity tokens and length: a second full call
        td = mtld([t.lower_ for t in doc2 if t.is_alpha])
        tl = float(sum(1 for t in doc2 if not t.is_space))
        rd = textstat.flesch_kincaid_grade(text)
        values.append([rd, fm, td, tl])
    return {"values": values}


def piece_steerdsl(path: str, db: str | None, workers: int | None) -> dict:
    from steerdsl.goals.measure import measure_texts
    from steerdsl.plan.hashing import builtin_measure_id
    from steerdsl.plan.model import BuiltinMeasure, FixedNorm, GoalPlan

    texts = json.loads(Path(path).read_text("utf-8"))
    goals = []
    for name in GOALS:
        mid, versions = builtin_measure_id(name)
        goals.append(GoalPlan(name=name, measure=BuiltinMeasure(name=name), measure_id=mid,
                              normalize=FixedNorm(lo=0, hi=1), versions=versions))
    con = None
    if db:
        from steerdsl.store.db import open_store

        con = open_store(db)
    m = measure_texts(texts, goals, con=con, workers=workers)
    if con is not None:
        con.close()
    values = [[float(m.raw[g][i]) for g in GOALS] for i in range(len(texts))]
    return {"values": values, "computed": m.computed, "cached": m.cached,
            "errors": len(m.errors)}


# --- the driver -----------------------------------------------------------------------------

def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_piece(args: list[str]) -> tuple[float, dict]:
    """Wall seconds of the whole process; its CPU seconds (all its processes) go in the
    result as "cpu", a number that other load on the machine disturbs less."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"piece {args} failed:\n{done.stderr}")
    out = json.loads(done.stdout.splitlines()[-1])
    out["cpu"] = _children_cpu() - cpu
    return seconds, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=400)
    p.add_argument("--workers", type=int, default=None,
                   help="steerdsl's processes (default: all cores)")
    p.add_argument("--piece", choices=["baseline", "steerdsl"], help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.piece == "baseline":
        print(json.dumps(piece_baseline(args.input)))
        return
    if args.piece == "steerdsl":
        print(json.dumps(piece_steerdsl(args.input, args.db, args.workers)))
        return

    texts = build_texts(args.texts)
    words = sum(len(t.split()) for t in texts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(texts), "utf-8")
        db = str(Path(tmp) / "cache.duckdb")
        extra = ["--workers", str(args.workers)] if args.workers else []
        rows = []
        t_base, base = run_piece(["--piece", "baseline", "--input", str(path)])
        rows.append(("reference-style baseline", t_base, base))
        t_cold, cold = run_piece(["--piece", "steerdsl", "--input", str(path), "--db", db, *extra])
        rows.append(("steerdsl cold (store)", t_cold, cold))
        t_warm, warm = run_piece(["--piece", "steerdsl", "--input", str(path), "--db", db, *extra])
        rows.append(("steerdsl cached (store)", t_warm, warm))

    import numpy as np

    ref = np.array(base["values"])
    print(f"{len(texts)} texts, {words} words (whitespace-split); each variant one whole "
          f"process; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'variant':<26} {'seconds':>8} {'texts/s':>9} {'speedup':>8} {'cpu s':>8}  "
          "computed/cached")
    for name, seconds, out in rows:
        info = f"{out['computed']}/{out['cached']}" if "computed" in out else "-"
        print(f"{name:<26} {seconds:8.2f} {len(texts) / seconds:9.1f} "
              f"{t_base / seconds:7.1f}x {out['cpu']:8.2f}  {info}")
    for name, _, out in rows[1:]:
        diff = np.nanmax(np.abs(np.array(out["values"]) - ref), axis=0)
        print(f"max |difference| to baseline, {name}: "
              + ", ".join(f"{g} {d:.3g}" for g, d in zip(GOALS, diff)))


if __name__ == "__main__":
    main()
