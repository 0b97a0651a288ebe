"""`steerdsl fmt` as the user runs it: rewrite, --check, --diff, stdin, errors as `check`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from test_lang_cli import STEERDSL, cli

GOLDEN = Path(__file__).resolve().parent / "golden" / "fmt"
SPEC = (GOLDEN / "messy.steer").read_text(encoding="utf-8")
FORMATTED = (GOLDEN / "messy.formatted.steer").read_text(encoding="utf-8")


def test_fmt_rewrites_in_place_and_then_has_nothing_to_do(tmp_path: Path):
    spec = tmp_path / "s.steer"
    spec.write_text(SPEC, encoding="utf-8")
    r = cli("fmt", str(spec))
    assert r.returncode == 0, r.stderr
    assert spec.read_text(encoding="utf-8") == FORMATTED
    assert f"reformatted {spec}" in r.stderr
    r = cli("fmt", "--check", str(spec))
    assert r.returncode == 0 and "1 file unchanged" in r.stderr


def test_check_names_the_files_that_would_change_and_writes_nothing(tmp_path: Path):
    ugly, fine = tmp_path / "ugly.steer", tmp_path / "sub" / "fine.steer"
    fine.parent.mkdir()
    ugly.write_text(SPEC, encoding="utf-8")
    fine.write_text(FORMATTED, encoding="utf-8")
    r = cli("fmt", "--check", str(tmp_path))  # a folder: the .steer files under it
    assert r.returncode == 1
    assert f"would reformat {ugly}" in r.stderr and str(fine) not in r.stderr
    assert ugly.read_text(encoding="utf-8") == SPEC


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path: Path):
    spec = tmp_path / "s.steer"
    spec.write_text(SPEC, encoding="utf-8")
    r = cli("fmt", "--diff", str(spec))
    assert r.returncode == 0
    assert r.stdout.startswith(f"--- a/{spec}\n+++ b/{spec}\n")
    assert "-intervention plain { prompt terse negative }" in r.stdout
    assert "+intervention plain { prompt terse  negative }" in r.stdout
    assert spec.read_text(encoding="utf-8") == SPEC
    assert cli("fmt", "--diff", "--check", str(spec)).returncode == 1


def test_a_syntax_error_is_reported_as_check_reports_it(tmp_path: Path):
    bad, good = tmp_path / "bad.steer", tmp_path / "good.steer"
    bad.write_text(SPEC.replace("seed 1", "seed"), encoding="utf-8")
    good.write_text(SPEC, encoding="utf-8")
    checked = cli("check", str(bad))
    r = cli("fmt", str(bad), str(good))
    assert r.returncode == 2
    assert checked.stderr.strip() in r.stderr
    assert "Traceback" not in r.stderr
    assert bad.read_text(encoding="utf-8") == SPEC.replace("seed 1", "seed")
    assert good.read_text(encoding="utf-8") == FORMATTED  # the others are still formatted


def test_a_missing_file_is_a_message(tmp_path: Path):
    r = cli("fmt", str(tmp_path / "nope.steer"))
    assert r.returncode == 2
    assert "cannot read the spec" in r.stderr and "Traceback" not in r.stderr


def test_stdin_to_stdout(tmp_path: Path):
    r = subprocess.run([str(STEERDSL), "fmt", "-"], input=SPEC, capture_output=True, text=True,
                       env={**os.environ, "NO_COLOR": "1"}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == FORMATTED


def test_the_shipped_specs_are_formatted():
    """specs/ is kept formatted (.ci/run checks it too): `steerdsl fmt specs` after a change."""
    specs = Path(__file__).resolve().parents[1] / "specs"
    r = cli("fmt", "--check", str(specs))
    assert r.returncode == 0, r.stderr
