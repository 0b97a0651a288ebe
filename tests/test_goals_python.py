"""Python goals are user code, contained (issue 11, items 9 and 10): any exception or exit is
that text's error, non-numbers and non-finite values too, a goal's print() goes to stderr, a
hanging call stops at the goal's timeout, and a module beside the spec wins over an installed
package of the same name, in `check` and `run` alike."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import steerdsl
from steerdsl.cli import main
from steerdsl.errors import RunError
from steerdsl.goals.measure import MeasureError, measure_texts
from steerdsl.lang.diagnostics import SpecError
from steerdsl.plan.model import FixedNorm, GoalPlan, PythonMeasure

NORM = FixedNorm(lo=0.0, hi=1.0)

HOSTILE = '''\
import os, sys, time

def score(text):
    if text == "huge":
        return 10**400
    if text == "exit":
        sys.exit(3)
    if text == "die":
        os._exit(5)
    if text == "hang":
        time.sleep(60)
    if text == "nan":
        return float("nan")
    if text == "talk":
        print("chatty goal")
        os.write(1, b"chatty at the descriptor\\n")
    return len(text)
'''


def goal(ref: str, timeout: float = 60.0, name: str = "g") -> GoalPlan:
    return GoalPlan(name=name, measure=PythonMeasure(ref=ref, timeout=timeout),
                    normalize=NORM, measure_id=f"py-{name}-{ref}")


def test_every_failure_of_a_goal_is_that_texts_error_and_the_others_are_measured(tmp_path):
    (tmp_path / "hostile_a.py").write_text(HOSTILE, encoding="utf-8")
    texts = ["huge", "ok", "exit", "nan", "die", "four", "hang", "talk"]
    m = measure_texts(texts, [goal("hostile_a:score", timeout=2)], base_dir=tmp_path)
    values = m.raw["g"].tolist()
    assert [v for v in values if not math.isnan(v)] == [2.0, 4.0, 4.0]
    assert [i for i, v in enumerate(values) if not math.isnan(v)] == [1, 5, 7]
    assert m.errors == [
        MeasureError(0, "0", "g", "hostile_a:score returned a number too large for a float"),
        MeasureError(2, "2", "g", "hostile_a:score raised SystemExit: 3"),
        MeasureError(3, "3", "g", "hostile_a:score returned nan, not a finite number"),
        MeasureError(4, "4", "g", "hostile_a:score ended its process (exit code 5)"),
        MeasureError(6, "6", "g", "hostile_a:score took longer than 2 s (the goal's timeout: "
                                  "set it with `timeout SECONDS` after the python reference)"),
    ]


def write_spec(folder: Path, ref: str, extra: str = "", builtin: str = "") -> Path:
    (folder / "c.jsonl").write_text('{"text": "One text."}\n', encoding="utf-8")
    spec = folder / "s.steer"
    spec.write_text("experiment e { seed 1 }\n"
                    f'corpus c {{ read "c.jsonl" }}\n'
                    f'goals {{ {builtin + " " if builtin else ""}g = python "{ref}"{extra} '
                    'normalize 0..100 }\n',
                    encoding="utf-8")
    return spec


def test_measure_json_stays_clean_and_a_goal_exit_is_an_error_not_the_exit_code(tmp_path):
    (tmp_path / "hostile_b.py").write_text(HOSTILE, encoding="utf-8")
    spec = write_spec(tmp_path, "hostile_b:score")
    done = subprocess.run(
        [sys.executable, "-m", "steerdsl.cli", "measure", "--json", "--spec", str(spec),
         "talk", "exit"], capture_output=True, text=True, timeout=120)
    # before: the goal's print went into the JSON, and sys.exit(3) ended the command with 3
    assert done.returncode == 1, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"id": "arg1", "raw": {"g": 4.0}, "normalized": {"g": 0.04}},
        {"id": "arg2", "raw": {"g": None}, "normalized": {"g": None},
         "errors": {"g": "hostile_b:score raised SystemExit: 3"}},
    ]
    assert "chatty goal\n" in done.stderr and "chatty at the descriptor\n" in done.stderr
    assert "error: arg2: g: hostile_b:score raised SystemExit: 3\n" in done.stderr
    assert "internal error" not in done.stderr


def test_timeout_setting_goes_into_the_plan_but_not_the_identity(tmp_path):
    (tmp_path / "plain_c.py").write_text("def f(t):\n    return 1\n", encoding="utf-8")
    default = steerdsl.load(write_spec(tmp_path, "plain_c:f")).plan().goals[0]
    short = steerdsl.load(write_spec(tmp_path, "plain_c:f", " timeout 2.5")).plan().goals[0]
    assert (default.measure.timeout, short.measure.timeout) == (60.0, 2.5)
    assert default.measure_id == short.measure_id  # a timeout changes no value it lets through
    with pytest.raises(SpecError) as e:
        steerdsl.load(write_spec(tmp_path, "plain_c:f", " timeout 0")).plan()
    assert "s.steer:3:40: error: 'timeout' must be between 0 and 86400, got 0" in str(e.value)


SHADOW = "def flesch_kincaid_grade(text):\n    return 123.0\n"


def test_a_spec_folder_module_named_like_an_installed_package_wins_in_check_and_run(tmp_path):
    # Before: check found textstat.py beside the spec, and the run imported the installed
    # textstat (imported first by the built-in goal): its grade, silently.
    (tmp_path / "textstat.py").write_text(SHADOW, encoding="utf-8")
    spec = write_spec(tmp_path, "textstat:flesch_kincaid_grade",
                      builtin="fk = flesch_kincaid_grade normalize 0..20")
    assert main(["check", str(spec)]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "steerdsl.cli", "measure", "--json", "--spec", str(spec),
         "The quick brown fox jumps over the lazy dog. It was a sunny day in the park, and "
         "everyone seemed happy."], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # the built-in goal still uses the installed package, the python goal the spec's file
    assert json.loads(done.stdout)["raw"] == {"fk": 3.6764285714285734, "g": 123.0}


def test_two_spec_folders_may_each_have_a_module_of_the_same_name(tmp_path):
    for name, value in (("a", 1), ("b", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "shared_name_d.py").write_text(
            f"import helper_d\ndef f(text):\n    return helper_d.BASE + {value}\n",
            encoding="utf-8")
        (tmp_path / name / "helper_d.py").write_text("BASE = 10\n", encoding="utf-8")
    a = measure_texts(["x"], [goal("shared_name_d:f")], base_dir=tmp_path / "a")
    b = measure_texts(["x"], [goal("shared_name_d:f")], base_dir=tmp_path / "b")
    assert (a.raw["g"].tolist(), b.raw["g"].tolist()) == ([11.0], [12.0])


def test_a_module_that_prints_or_exits_while_loading_is_contained(tmp_path, capsys):
    (tmp_path / "loud_e.py").write_text("print('loading')\ndef f(t):\n    return 1\n",
                                        encoding="utf-8")
    m = measure_texts(["x"], [goal("loud_e:f")], base_dir=tmp_path)
    assert m.raw["g"].tolist() == [1.0]
    out, err = capsys.readouterr()
    assert (out, err) == ("", "loading\n")
    (tmp_path / "exits_e.py").write_text("import sys\nsys.exit(4)\n", encoding="utf-8")
    with pytest.raises(RunError) as e:
        measure_texts(["x"], [goal("exits_e:f", name="h")], base_dir=tmp_path)
    assert str(e.value) == (f"goal 'h': cannot import module 'exits_e' (SystemExit: 4); "
                            f"searched {tmp_path} and the Python path")


def test_goal_errors_reach_the_terminal_without_control_characters(tmp_path):
    # A goal's exception text is user text: printed raw, an escape sequence could retitle the
    # terminal or hide what follows.
    (tmp_path / "escapes_d.py").write_text(
        "def f(t):\n    raise ValueError('bad \\x1b]0;owned\\x07 value')\n", encoding="utf-8")
    spec = write_spec(tmp_path, "escapes_d:f")
    done = subprocess.run(
        [sys.executable, "-m", "steerdsl.cli", "measure", "--spec", str(spec), "talk"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "error: arg1: g: escapes_d:f raised ValueError: bad \\x1b]0;owned\\x07 value" \
        in done.stderr


def test_run_messages_escape_control_characters(capsys):
    from steerdsl.progress import Display

    Display(quiet=True).warn("model m: \x1b[2Jgone\nsecond line")
    assert capsys.readouterr().err == "model m: \\x1b[2Jgone\nsecond line\n"
