"""`steerdsl measure`: inputs (text, stdin, .txt, .jsonl), --goals, --json, --spec, --db, exit
codes and per-text errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import steerdsl
from steerdsl.cli import main
from steerdsl.store.db import open_store

FOX = ("The quick brown fox jumps over the lazy dog. It was a sunny day in the park, and "
       "everyone seemed happy.")
SHORT = "One short text. It is here."


def measure(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["measure", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_one_text_as_a_table(capsys):
    code, out, err = measure(capsys, FOX)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "goal                  raw",
        "flesch_kincaid_grade  3.67643",
        "heylighen_dewaele     76.1905",
        "mtld                  61.74",
        "token_count           24",
    ]


def test_json_keeps_full_precision(capsys):
    code, out, _ = measure(capsys, FOX, "--json")
    assert code == 0
    (obj,) = json_lines(out)
    assert obj["id"] == "arg1"
    assert obj["raw"]["flesch_kincaid_grade"] == 3.6764285714285734
    assert obj["raw"]["token_count"] == 24.0
    assert "errors" not in obj and "normalized" not in obj


def test_txt_file_blocks_and_invalid_utf8(tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_bytes(b"Hello there.\n\n" + FOX.encode() + b"\n  \n\n\xff\xfe broken\n\nLast one.\n")
    code, out, err = measure(capsys, path, "--json", "--goals", "token_count,text_length")
    assert code == 1  # some text failed; the others are still printed
    objs = json_lines(out)
    assert [o["id"] for o in objs] == [f"{path}:1", f"{path}:3", f"{path}:6", f"{path}:8"]
    assert [o["raw"]["token_count"] for o in objs] == [3.0, 24.0, None, 3.0]
    # a paper goal name stands for its measure
    assert [o["raw"]["text_length"] for o in objs] == [3.0, 24.0, None, 3.0]
    assert objs[2]["errors"] == {"(input)": "invalid UTF-8 at byte 0 of the text"}
    assert err == (f"note: measuring the file {path} (4 texts)\n"
                   f"error: {path}:6: (input): invalid UTF-8 at byte 0 of the text\n")


def test_jsonl_file_with_ids_and_bad_lines(tmp_path, capsys):
    path = tmp_path / "texts.jsonl"
    path.write_text(json.dumps({"text": FOX, "id": "fox"}) + "\n\n"
                    + '{"body": "no text"}\n'
                    + "not json\n"
                    + json.dumps({"text": "bad \udc80 escape"}) + "\n"
                    + json.dumps({"text": ""}) + "\n", encoding="utf-8")
    code, out, err = measure(capsys, path, "--json", "--goals", "token_count")
    assert code == 1
    objs = json_lines(out)
    assert [(o["id"], o["raw"]["token_count"]) for o in objs] == [
        ("fox", 24.0), (f"{path}:3", None), (f"{path}:4", None), (f"{path}:5", None),
        (f"{path}:6", 0.0)]
    assert objs[1]["errors"] == {"(input)": 'needs an object with a string "text" field'}
    assert objs[2]["errors"] == {"(input)": "not valid JSON (Expecting value at column 1)"}
    assert objs[3]["errors"] == {
        "token_count": "not valid Unicode text (lone surrogate at character 4)"}
    assert err.count("error: ") == 3


def test_stdin_and_several_texts_as_a_table(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SHORT.encode())))
    code, out, _ = measure(capsys, "-", "Hey there!", "--goals", "token_count,word_count")
    assert code == 0
    assert out.splitlines() == [
        "id     token_count  word_count",
        "stdin  8            6",
        "arg1   3            2",
    ]


def test_a_folder_is_an_error_whatever_its_name(tmp_path, capsys, monkeypatch):
    # Before: an existing folder was measured as the literal text of its name, and a folder
    # named like a .txt file gave "no such file".
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d.txt").mkdir()
    for name in ("d", "d.txt"):
        code, out, err = measure(capsys, name, "--goals", "token_count")
        assert (code, out) == (2, "")
        assert err == (f"error: {name} is a folder, not a file: name its files instead "
                       f"(for example {name}/*.txt)\n")


def test_says_whether_an_argument_was_read_as_a_file_or_measured_as_text(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("One.\n\nTwo.\n", encoding="utf-8")
    code, out, err = measure(capsys, "x.txt", "x", "Plain words here.", "--json",
                             "--goals", "token_count")
    assert code == 0
    assert [(o["id"], o["raw"]["token_count"]) for o in json_lines(out)] == [
        ("x.txt:1", 2.0), ("x.txt:3", 2.0), ("arg1", 1.0), ("arg2", 4.0)]
    # a text with spaces cannot have been meant as a path: no note for it
    assert err == ("note: measuring the file x.txt (2 texts)\n"
                   "note: measuring the text given as argument: 'x' (no file of that name)\n")


@pytest.mark.parametrize("args, message", [
    (["x", "--goals", "mtdl"], "unknown measure 'mtdl'; did you mean 'mtld'?"),
    (["x", "--goals", " , "], "--goals needs at least one measure name"),
    (["x", "--goals", "mtld,mtld"], "--goals names 'mtld' twice"),
    (["missing.txt"], "no such file: missing.txt"),
    (["x", "--workers", "0"], "--workers must be at least 1"),
    (["x", "--spec", "nowhere.steer"], "no such spec: nowhere.steer"),
])
def test_usage_errors_exit_2(capsys, args, message):
    code, out, err = measure(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err


def test_unsupported_and_empty_files(tmp_path, capsys):
    (tmp_path / "notes.md").write_text("hello", encoding="utf-8")
    code, _, err = measure(capsys, tmp_path / "notes.md")
    assert code == 2 and "unsupported file type '.md'" in err
    (tmp_path / "empty.txt").write_text("\n \n", encoding="utf-8")
    code, _, err = measure(capsys, tmp_path / "empty.txt")
    assert code == 2 and "holds no text" in err
    code, _, err = measure(capsys, "x", "--goals", "mtld", "--spec", "s.steer")
    assert code == 2 and "use either --goals or --spec" in err


def test_db_caches_measurements(tmp_path, capsys):
    db = tmp_path / "cache.duckdb"
    code, first, _ = measure(capsys, FOX, SHORT, FOX, "--json", "--db", db)
    assert code == 0
    con = open_store(db)
    assert con.execute("SELECT count(*) FROM measurements").fetchone()[0] == 2 * 4
    assert con.execute("SELECT count(*) FROM texts").fetchone()[0] == 2
    con.close()
    code, second, _ = measure(capsys, FOX, SHORT, FOX, "--json", "--db", db)
    assert code == 0 and second == first


def test_db_measures_failed_python_values_again(tmp_path, capsys, monkeypatch):
    # Unlike a run (which needs --retry-errors), measuring is what was asked for.
    (tmp_path / "flaky_measure.py").write_text(
        "import pathlib\n"
        "def score(t):\n"
        "    if (pathlib.Path(__file__).parent / 'fail.flag').exists():\n"
        "        raise ValueError('flaky')\n"
        "    return len(t)\n", encoding="utf-8")
    (tmp_path / "fail.flag").touch()
    spec = tmp_path / "f.steer"
    (tmp_path / "c.txt").write_text("A text.\n", encoding="utf-8")
    spec.write_text('experiment e { seed 1 }\ncorpus c { read "c.txt" }\n'
                    'goals { n = python "flaky_measure:score" normalize 0..100 }\n',
                    encoding="utf-8")
    monkeypatch.chdir(tmp_path.parent)
    db = tmp_path / "cache.duckdb"
    code, out, err = measure(capsys, SHORT, "--json", "--spec", spec, "--db", db)
    assert code == 1 and "flaky_measure:score raised ValueError: flaky" in err
    (tmp_path / "fail.flag").unlink()
    code, out, err = measure(capsys, SHORT, "--json", "--spec", spec, "--db", db)
    assert code == 0 and json_lines(out)[0]["raw"] == {"n": 27.0}


def write_spec(folder: Path) -> Path:
    (folder / "c.jsonl").write_text(
        '{"text": "One short text. It is here."}\n'
        '{"text": "Another text with several more words in it, and a comma."}\n'
        '{"text": "Third!"}\n', encoding="utf-8")
    (folder / "tenth_measure.py").write_text("def score(t):\n    return len(t) / 10\n",
                                             encoding="utf-8")
    spec = folder / "s.steer"
    spec.write_text(
        "experiment e { seed 1 }\n"
        'corpus c { read "c.jsonl" }\n'
        "goals {\n"
        "  reading_difficulty = flesch_kincaid_grade normalize 2.8..12.9\n"
        "  length = token_count normalize quantile 25%..75% of c\n"
        '  tenth = python "tenth_measure:score" normalize 0..10\n'
        '  polite = judge jm rubric "Polite?" scale 0..10\n'
        "}\n"
        'model jm { litellm "openai/judge" }\n', encoding="utf-8")
    return spec


def test_spec_goal_space(tmp_path, capsys, monkeypatch):
    spec = write_spec(tmp_path)
    monkeypatch.chdir(tmp_path.parent)  # python goals import from the spec's folder
    code, out, err = measure(capsys, SHORT, "--json", "--spec", spec)
    assert code == 0
    (obj,) = json_lines(out)
    assert list(obj["raw"]) == ["reading_difficulty", "length", "tenth"]
    assert obj["raw"]["length"] == 8.0 and obj["raw"]["tenth"] == 2.7
    # token counts of the corpus: 8, 13, 2; linear 25% and 75% percentiles: 5.0 and 10.5.
    assert obj["normalized"]["length"] == pytest.approx((8 - 5.0) / 5.5, abs=1e-12)
    assert obj["normalized"]["tenth"] == pytest.approx(0.27, abs=1e-12)
    assert obj["normalized"]["reading_difficulty"] == 0.0  # FK -2.62, below 2.8: clipped
    assert "goal 'polite' is judged by a model" in err
    assert "measuring corpus 'c' (3 texts)" in err


def test_spec_uses_bounds_its_run_stored(tmp_path, capsys):
    spec = write_spec(tmp_path)
    plan = steerdsl.load(spec).plan()
    con = open_store(plan.experiment.store)
    length = plan.goal("length")
    con.execute("INSERT INTO goal_space VALUES (?, 1, 'length', ?, 0.0, 100.0)",
                [plan.stage("space").hash, length.measure_id])
    con.close()
    code, out, err = measure(capsys, SHORT, "--json", "--spec", spec)
    assert code == 0
    assert json_lines(out)[0]["normalized"]["length"] == 0.08
    assert "measuring corpus" not in err


def test_real_command_reads_stdin():
    done = subprocess.run(
        [sys.executable, "-m", "steerdsl.cli", "measure", "-", "--json", "--goals",
         "token_count,char_count"],
        input=SHORT.encode(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {"id": "stdin", "raw": {"token_count": 8.0,
                                                             "char_count": 27.0}}
