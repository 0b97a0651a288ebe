"""`steerdsl measure TEXT|-|FILE ...`: raw goal values of texts (and, with --spec, their
normalized values in that spec's goal space), as a table or one JSON object per text.

Exit 0 when every value was measured, 1 when some text or goal failed (all other values are
still printed; the failures go to stderr), 2 for usage errors.
"""

from __future__ import annotations

import argparse

# The paper's four, in METHOD.md's order.
DEFAULT_GOALS = ("flesch_kincaid_grade", "heylighen_dewaele", "mtld", "token_count")
PROGRESS_MIN_TEXTS = 50


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="TEXT|-|FILE",
                   help='a text, "-" for stdin (one text), or a file: .txt (texts separated by '
                        'blank lines) or .jsonl (a "text" field per line); an existing file is '
                        'read (a folder is an error), anything else is measured as text')
    p.add_argument("--goals", metavar="A,B,...",
                   help="built-in measures to show (default: the paper's four: "
                        f"{','.join(DEFAULT_GOALS)}); the paper's goal names work too")
    p.add_argument("--spec", metavar="SPEC",
                   help="use this spec's goal space: raw and normalized values of its goals")
    p.add_argument("--db", metavar="DB", help="a store (.duckdb) to use as measurement cache")
    p.add_argument("--json", action="store_true", help="one JSON object per text")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes for large inputs (default: all cores)")


def run(args: argparse.Namespace) -> int:
    import sys

    from steerdsl.errors import UsageError
    from steerdsl.goals.inputs import read_inputs

    if args.spec and args.goals:
        raise UsageError("use either --goals or --spec: a spec brings its own goals")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.spec:
        goals, bounds_of, base_dir, skipped = _spec_goals(args.spec)
    else:
        goals, bounds_of, base_dir, skipped = _builtin_goals(args.goals), None, None, []
    # Inputs after the options are known good: a usage error comes alone.
    items = read_inputs(args.inputs, note=lambda msg: print(f"note: {msg}", file=sys.stderr))
    for name in skipped:
        print(f"note: goal '{name}' is judged by a model; `steerdsl measure` calls no "
              "model, so it is left out", file=sys.stderr)

    con = _open_cache(args.db)
    try:
        measured = _measure(items, goals, con, args.workers, base_dir)
        bounds = bounds_of(con, args.db, args.workers) if bounds_of else None
    finally:
        if con is not None:
            con.close()
    return _print(items, goals, measured, bounds, args.json)


def _builtin_goals(spec: str | None):
    from steerdsl.catalog import MEASURES, PAPER_GOALS
    from steerdsl.errors import UsageError
    from steerdsl.lang.suggest import closest
    from steerdsl.plan.build import builtin_goal
    from steerdsl.plan.model import FixedNorm

    names = DEFAULT_GOALS if spec is None else [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise UsageError("--goals needs at least one measure name")
    goals = []
    for name in names:
        measure = PAPER_GOALS.get(name, name)
        if measure not in MEASURES:
            hint = closest(name, [*MEASURES, *PAPER_GOALS])
            raise UsageError(f"unknown measure '{name}'"
                             + (f"; did you mean '{hint}'?" if hint else "")
                             + f" Built-in measures: {', '.join(MEASURES)}")
        if any(g.name == name for g in goals):
            raise UsageError(f"--goals names '{name}' twice")
        # The normalization is a placeholder: without a spec only raw values are shown.
        goals.append(builtin_goal(name, measure, FixedNorm(lo=0.0, hi=1.0)))
    return goals


def _spec_goals(spec: str):
    """The spec's goals (judge goals left out), a function giving their bounds, the folder
    Python goals import from, and the names left out."""
    from pathlib import Path

    import steerdsl
    from steerdsl.errors import UsageError
    from steerdsl.plan.model import JudgeMeasure

    if not Path(spec).is_file():
        raise UsageError(f"no such spec: {spec}")
    plan = steerdsl.load(spec).plan()
    goals = [g for g in plan.goals if not isinstance(g.measure, JudgeMeasure)]
    skipped = [g.name for g in plan.goals if isinstance(g.measure, JudgeMeasure)]
    if not goals:
        raise UsageError(f"{spec} has no goal that can be measured here")
    base_dir = Path(plan.spec_path).parent

    def bounds_of(con, db, workers):
        from steerdsl.stages.space import bounds_outside_a_run

        return bounds_outside_a_run(plan, goals, con, db, workers, base_dir)

    return goals, bounds_of, base_dir, skipped


def _open_cache(db: str | None):
    if db is None:
        return None
    from steerdsl.store.db import open_store

    return open_store(db)


def _measure(items, goals, con, workers, base_dir):
    from steerdsl.goals.measure import measure_texts
    from steerdsl.progress import Display

    ok = [it for it in items if it.text is not None]
    display = Display(quiet=len(ok) < PROGRESS_MIN_TEXTS)
    with display.session():
        bar = display.stage("measure", len(ok))
        # Measuring is what was asked for: stored failures of Python goals are tried again.
        return measure_texts([it.text for it in ok], goals, con=con, progress=bar,
                             ids=[it.text_id for it in ok], workers=workers, base_dir=base_dir,
                             retry_errors=True)


def _print(items, goals, measured, bounds, as_json: bool) -> int:
    import json
    import math
    import sys

    from steerdsl.goals.normalize import normalize
    from steerdsl.lang.diagnostics import printable

    ok_index = {}
    for it in items:
        if it.text is not None:
            ok_index[id(it)] = len(ok_index)
    errors: dict[int, dict[str, str]] = {}
    for e in measured.errors:
        errors.setdefault(e.index, {})[e.goal] = e.message
    norm = ({g.name: normalize(measured.raw[g.name], *bounds[g.name]) for g in goals}
            if bounds is not None else None)

    rows = []  # (id, raw by goal, normalized by goal or None, errors by goal)
    for it in items:
        k = ok_index.get(id(it))
        if k is None:
            rows.append((it.text_id, {g.name: None for g in goals},
                         {g.name: None for g in goals} if norm is not None else None,
                         {"(input)": it.error}))
            continue

        def val(x):
            return None if math.isnan(x) else float(x)

        raw = {g.name: val(measured.raw[g.name][k]) for g in goals}
        nv = {g.name: val(norm[g.name][k]) for g in goals} if norm is not None else None
        rows.append((it.text_id, raw, nv, errors.get(k, {})))

    if as_json:
        for text_id, raw, nv, errs in rows:
            obj = {"id": text_id, "raw": raw}
            if nv is not None:
                obj["normalized"] = nv
            if errs:
                obj["errors"] = errs
            print(json.dumps(obj, ensure_ascii=False))
    else:
        print(_table(rows, goals, norm is not None))
    failed = 0
    for text_id, _, _, errs in rows:
        for goal, message in errs.items():
            failed += 1
            print(printable(f"error: {text_id}: {goal}: {message}"), file=sys.stderr)
    return 1 if failed else 0


def _fmt(x: float | None, digits: str) -> str:
    return "error" if x is None else format(x, digits)


def _table(rows, goals, with_norm: bool) -> str:
    names = [g.name for g in goals]
    if len(rows) == 1:
        # One text: a goal per line reads best.
        _, raw, nv, _ = rows[0]
        header = ["goal", "raw"] + (["normalized"] if with_norm else [])
        body = [[n, _fmt(raw[n], ".6g")] + ([_fmt(nv[n], ".4f")] if with_norm else [])
                for n in names]
    else:
        header = ["id"]
        for n in names:
            header += [n] + ([f"{n} (0-1)"] if with_norm else [])
        body = []
        for text_id, raw, nv, _ in rows:
            line = [text_id]
            for n in names:
                line += [_fmt(raw[n], ".6g")] + ([_fmt(nv[n], ".4f")] if with_norm else [])
            body.append(line)
    widths = [max(len(r[c]) for r in [header, *body]) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
                     for r in [header, *body])
