"""The CLI's error boundary as a user meets it (subprocesses): a closed output pipe, terminal
control characters in messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.metrics_store import new_store, write_answers, write_probe
from test_lang_cli import SPEC, spec  # noqa: F401  (the spec of check's tests)

STEERDSL = Path(sys.executable).parent / "steerdsl"


@pytest.fixture
def store(tmp_path) -> Path:
    path = tmp_path / "results.duckdb"
    con = new_store(path)
    write_probe(con, ["x"], np.array([[0.5]]), np.array([[0.3]]))
    write_answers(con, ["x"], np.array([[[0.8]]]))
    con.close()
    return path


def closed_stdout(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run steerdsl with its stdout a pipe nobody reads (closed before it writes), like
    `steerdsl ... | head -1` once head has exited: exit code and stderr."""
    proc = subprocess.Popen([str(STEERDSL), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    return proc.wait(timeout=120), err


@pytest.mark.parametrize("args", [
    ("compile", "cli.steer"),
    ("measure", "--json", "One text. Another sentence here."),
    ("query", "results.duckdb", "SELECT * FROM range(100000)"),
    ("query", "results.duckdb", "SELECT * FROM metrics", "--json"),
])
def test_closed_pipe_exits_quietly(spec, store, args):
    code, err = closed_stdout(*args, cwd=spec.parent)
    assert (code, err) == (141, "")



def _control_free(text: str) -> bool:
    """No terminal control characters but newlines (and tabs the source line has)."""
    import unicodedata

    return not any((unicodedata.category(ch) == "Cc" and ch not in "\n\t")
                   or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                   for ch in text)


def test_source_lines_with_control_characters_are_escaped(spec):
    """An error on a line holding an escape sequence (retitles the terminal) and a bidi
    override: both shown as escapes, the caret still under the mistake."""
    spec.write_text(SPEC.replace('litellm "openai/m"',
                                 'litellm "openai/\x1b]0;pwned\x07m\u202e" temprature 1'),
                    encoding="utf-8")
    r = subprocess.run([str(STEERDSL), "check", spec.name], capture_output=True, text=True,
                       cwd=spec.parent, timeout=120)
    assert r.returncode == 2 and _control_free(r.stderr)
    lines = r.stderr.splitlines()
    assert lines[1] == ('  model m { litellm "openai/\\x1b]0;pwned\\x07m\\u202e" temprature 1 '
                        'api_base "http://127.0.0.1:9/v1" }')
    assert lines[2].index("^") == lines[1].index("temprature")
    assert lines[2].strip() == "^" * len("temprature")


def test_messages_quoting_user_text_are_escaped(tmp_path):
    name = "x\x1b[2J\x9b1m.steer"
    r = subprocess.run([str(STEERDSL), "check", name], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and _control_free(r.stderr)
    assert "x\\x1b[2J\\x9b1m.steer" in r.stderr
    raw = subprocess.run([str(STEERDSL).encode(), b"check", b"y\x1b[2J\xff.steer"],
                         capture_output=True, cwd=tmp_path, timeout=120)
    err = raw.stderr.decode("utf-8", errors="strict")
    assert raw.returncode == 2 and _control_free(err)
    assert err.startswith("y\\x1b[2J\\xff.steer:1:1: error: cannot read the spec")
