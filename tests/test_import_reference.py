"""`steerdsl import-reference`: results in the reference tool's CSV layout, scored by the
same SQL views as a run."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from steerdsl.cli import main
from steerdsl.store.db import open_store
from support.reference_metrics import METRIC_NAMES, answer_metrics
from support.synthetic_store import write_synthetic_store

GOALS = ["reading_difficulty", "formality", "textual_diversity"]


def _cell(x: float) -> str:
    return "" if np.isnan(x) else repr(float(x))


def write_results(path, source, delta, output, *, texts=None, answers=None, extra=None,
                  goals=GOALS, raw=None):
    header = ["text"] + ([g for g in goals] if raw is not None else [])
    for prefix in ("source_", "delta_", "target_", "output_"):
        header += [prefix + g for g in goals]
    header += (["output_text"] if answers is not None else []) + list(extra or {})
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in range(len(source)):
            target = source[r] + delta[r]
            row = [texts[r] if texts else f"Source text number {r}."]
            row += [_cell(v) for v in raw[r]] if raw is not None else []
            for block in (source[r], delta[r], target, output[r]):
                row += [_cell(v) for v in block]
            row += [answers[r]] if answers is not None else []
            row += [values[r] for values in (extra or {}).values()]
            w.writerow(row)


def random_results(rng, rows=300):
    d = len(GOALS)
    source = rng.uniform(0.1, 0.9, (rows, d))
    delta = np.where(rng.random((rows, d)) < 0.5, rng.uniform(-0.1, 0.1, (rows, d)), np.nan)
    output = np.clip(source + rng.normal(0, 0.15, (rows, d)), 0, 1)
    output[rng.random((rows, d)) < 0.1] = 1.0
    return source, delta, output


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["import-reference", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_scores_like_numpy(tmp_path, capsys):
    rng = np.random.default_rng(7)
    source, delta, output = random_results(rng)
    answers = [f"Rewritten, number {r},\nwith a second line." for r in range(len(source))]
    csv_path = tmp_path / "llama_direct.csv"
    write_results(csv_path, source, delta, output, answers=answers,
                  raw=source * 10, extra={"model_id": ["llama-3"] * len(source),
                                          "judge_ok": ["1", "0"] * (len(source) // 2)})
    db = tmp_path / "store.duckdb"
    code, out, err = run_cli(capsys, csv_path, "--db", db, "--model", "llama",
                             "--intervention", "direct")
    assert code == 0, err
    assert "imported 300 rows x 3 goals (reading_difficulty, formality, textual_diversity)" in err
    assert "model_id, judge_ok" in err
    assert out.splitlines()[2].split()[:4] == ["llama", "direct", "300", "0/300"]

    con = open_store(db, read_only=True)
    got = con.execute(f"SELECT row_id, {', '.join(METRIC_NAMES)}, selected, n_active "
                      "FROM metrics ORDER BY row_id").fetchall()
    assert len(got) == 300
    for row in got:
        r = row[0]
        ref = answer_metrics(source[r], delta[r], source[r] + delta[r], output[r])
        for name, value in zip(METRIC_NAMES, row[1:8]):
            assert value == pytest.approx(ref[name], rel=1e-9, abs=1e-9), (r, name)
        assert row[8] is True and row[9] == int((~np.isnan(delta[r])).sum())
    # answer texts, raw source values, extra columns, current
    assert con.execute("SELECT answer FROM calls WHERE row_id = 5").fetchone()[0] == answers[5]
    assert con.execute("SELECT count(*) FROM texts t JOIN calls c ON c.answer_hash = "
                       "t.text_hash").fetchone()[0] == 300
    assert con.execute("SELECT source_raw FROM answers WHERE row_id = 3 AND goal = 'formality'"
                       ).fetchone()[0] == source[3, 1] * 10
    settings = json.loads(con.execute("SELECT settings FROM generations").fetchone()[0])
    assert settings["extra"]["judge_ok"][:3] == ["1", "0", "1"]
    assert settings["answer_column"] == "output_text"
    assert {s for (s,) in con.execute("SELECT stage FROM current").fetchall()} == {
        "probe:reference", "generate:llama/direct"}
    con.close()


def test_reimport_replaces_and_models_share_the_probe(tmp_path, capsys):
    rng = np.random.default_rng(8)
    source, delta, output = random_results(rng, rows=20)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_results(a, source, delta, output)
    write_results(b, source, delta, np.clip(output + 0.05, 0, 1))
    db = tmp_path / "store.duckdb"
    for path, model in ((a, "llama"), (a, "llama"), (b, "gpt")):
        code, _, _ = run_cli(capsys, path, "--db", db, "--model", model, "--intervention", "direct")
        assert code == 0
    con = open_store(db, read_only=True)
    counts = con.execute("SELECT (SELECT count(*) FROM probes), (SELECT count(*) FROM calls), "
                         "(SELECT count(*) FROM outputs), (SELECT count(*) FROM metrics)"
                         ).fetchone()
    assert counts == (1, 40, 120, 40)
    con.close()

    # Another probe under the same name: the earlier generations stop counting, with a warning.
    write_results(tmp_path / "c.csv", source[:10], delta[:10], output[:10])
    code, _, err = run_cli(capsys, tmp_path / "c.csv", "--db", db, "--model", "qwen",
                           "--intervention", "direct")
    assert code == 0
    assert "gpt/direct, llama/direct (over the previous one) no longer count" in err
    code, _, err = run_cli(capsys, tmp_path / "c.csv", "--db", db, "--model", "qwen",
                           "--intervention", "cot", "--probe", "half")
    assert code == 0 and "warning" not in err


def test_round_trip_from_a_store(tmp_path, capsys):
    """Answers of a store written in the reference layout and imported again score the same."""
    syn = write_synthetic_store(tmp_path / "syn.duckdb", models=("llama",),
                                interventions={"direct": 1}, n_sources=6, per_source=5)
    con = open_store(syn.path, read_only=True)
    goals = syn.goals
    probe = con.execute("SELECT row_id, goal, source, delta FROM probe_goals").fetchall()
    rows = syn.probe_rows
    col = {g: j for j, g in enumerate(goals)}
    source = np.full((rows, len(goals)), np.nan)
    delta = np.full((rows, len(goals)), np.nan)
    for r, g, s, dl in probe:
        source[r, col[g]], delta[r, col[g]] = s, np.nan if dl is None else dl
    output = np.full((rows, len(goals)), np.nan)
    for r, g, v in con.execute("SELECT row_id, goal, output FROM answers").fetchall():
        output[r, col[g]] = v
    before = con.execute(f"SELECT row_id, {', '.join(METRIC_NAMES)} FROM metrics "
                         "ORDER BY row_id").fetchall()
    con.close()
    csv_path = tmp_path / "export.csv"
    # target = source + delta exactly as the probe stored it
    write_results(csv_path, source, delta, output, goals=goals)
    db = tmp_path / "imported.duckdb"
    code, _, err = run_cli(capsys, csv_path, "--db", db, "--model", "llama",
                           "--intervention", "direct")
    assert code == 0
    failed = rows - len(before)
    if failed:
        assert f"{failed} rows without output values count as failed calls" in err
    con = open_store(db, read_only=True)
    after = con.execute(f"SELECT row_id, {', '.join(METRIC_NAMES)} FROM metrics "
                        "ORDER BY row_id").fetchall()
    # equal up to the order DuckDB sums the goals in (an ulp)
    assert [r[0] for r in after] == [r[0] for r in before]
    for a, b in zip(after, before):
        assert a[1:] == pytest.approx(b[1:], rel=1e-12, abs=1e-15)
    con.close()


@pytest.mark.parametrize("edit, message", [
    (lambda h, rows: (h[:-1], [r[:-1] for r in rows]),
     "inconsistent goal columns: goal 'textual_diversity' lacks output_textual_diversity"),
    (lambda h, rows: (h, [r[:10] + ["abc"] + r[11:] if i == 2 else r
                          for i, r in enumerate(rows)]),
     "row 3: output_reading_difficulty is not a number: 'abc'"),
    (lambda h, rows: (h, [r[:4] + ["1.5"] + r[5:] if i == 0 else r for i, r in enumerate(rows)]),
     "row 1: target_reading_difficulty = "),
    (lambda h, rows: ([c for c in h if c != "text"], [r[1:] for r in rows]),
     "missing column text"),
    (lambda h, rows: (["a", "b"], [["1", "2"]]), "no goal columns found"),
    (lambda h, rows: (h, [r[:5] for r in rows[:1]] + rows[1:]),
     "row 1: has 5 fields, the header has 13"),
])
def test_malformed_files(tmp_path, capsys, edit, message):
    rng = np.random.default_rng(9)
    source, delta, output = random_results(rng, rows=4)
    delta[:, 0] = 0.05
    path = tmp_path / "r.csv"
    write_results(path, source, delta, output)
    with open(path, newline="") as f:
        header, *rows = list(csv.reader(f))
    header, rows = edit(header, rows)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    code, out, err = run_cli(capsys, path, "--db", tmp_path / "s.duckdb", "--model", "m",
                             "--intervention", "i")
    assert code == 1 and out == ""
    assert message in err, err
    assert "Traceback" not in err


def test_bad_names_and_missing_file(tmp_path, capsys):
    code, _, err = run_cli(capsys, tmp_path / "none.csv", "--db", tmp_path / "s.duckdb",
                           "--model", "m", "--intervention", "i")
    assert code == 1 and "results CSV not found" in err
    (tmp_path / "r.csv").write_text("text\n")
    code, _, err = run_cli(capsys, tmp_path / "r.csv", "--db", tmp_path / "s.duckdb",
                           "--model", "a/b", "--intervention", "i")
    assert code == 2 and "--model 'a/b'" in err


def test_model_and_intervention_default_to_the_file_stem_and_reference(tmp_path):
    """As a user runs it: only the file and the store."""
    import subprocess
    import sys

    rng = np.random.default_rng(3)
    source, delta, output = random_results(rng, rows=6)
    csv_path = tmp_path / "llama-3.1_direct.csv"
    write_results(csv_path, source, delta, output)
    db = tmp_path / "s.duckdb"
    done = subprocess.run([sys.executable, "-m", "steerdsl.cli", "import-reference",
                           str(csv_path), "--db", str(db)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "as llama-3.1_direct/reference over probe reference" in done.stderr
    con = open_store(db, read_only=True)
    assert con.execute("SELECT model, intervention, calls FROM calls_summary").fetchall() == [
        ("llama-3.1_direct", "reference", 6)]
    con.close()
    helped = subprocess.run([sys.executable, "-m", "steerdsl.cli", "import-reference", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "default: the file's name without .csv" in " ".join(helped.stdout.split())
    assert "(default: reference)" in helped.stdout


def test_file_stem_that_is_not_a_name_needs_model(tmp_path, capsys):
    rng = np.random.default_rng(3)
    source, delta, output = random_results(rng, rows=2)
    csv_path = tmp_path / "my results (v2).csv"
    write_results(csv_path, source, delta, output)
    code, out, err = run_cli(capsys, csv_path, "--db", tmp_path / "s.duckdb")
    assert code == 2 and out == ""
    assert err.strip() == ("error: the file name 'my results (v2)' is not a model name "
                           "(letters, digits, _ . -, starting with a letter or _): "
                           "give one with --model NAME")


def test_every_problem_of_a_results_file_is_listed(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("text,source_a,delta_a,target_a,output_a\n"
                    "x,0.5,,,1.5\n"
                    "y,0.5,,,1_0\n"
                    "z,1_0,,,0.3\n"
                    "w,0.5,0.1,0.6,-0.2\n"
                    "v,0.5,,,abc\n"
                    "u,0.5,,,inf\n"
                    "ok,0.5,,,0.5\n")
    code, out, err = run_cli(capsys, path, "--db", tmp_path / "s.duckdb")
    assert (code, out) == (1, "")
    assert err == (f"error: {path}: not a valid results CSV:\n"
                   "  row 1: output_a = 1.5 is outside [0, 1]\n"
                   "  row 2: output_a is not a number: '1_0'\n"
                   "  row 3: source_a is not a number: '1_0'\n"
                   "  row 4: output_a = -0.2 is outside [0, 1]\n"
                   "  row 5: output_a is not a number: 'abc'\n"
                   "  row 6: output_a is not a finite number: 'inf'\n")


def test_many_problems_are_capped_with_a_count(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("text,source_a,delta_a,target_a,output_a\n"
                    + "x,2,,,3\n" * 12)
    code, _, err = run_cli(capsys, path, "--db", tmp_path / "s.duckdb")
    assert code == 1
    lines = err.splitlines()
    assert lines[1:4] == ["  row 1: source_a = 2.0 is outside [0, 1]",
                          "  row 1: output_a = 3.0 is outside [0, 1]",
                          "  row 2: source_a = 2.0 is outside [0, 1]"]
    assert len(lines) == 1 + 10 + 1 and lines[-1] == "  ... and 14 more problems"
