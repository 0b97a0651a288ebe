"""`steerdsl review SPEC`: the queue, the CSV round trip and its checks, and the terminal
review driven through a pseudo-terminal, killed and resumed. The spec's store comes from a real
run against the fake server; the verdicts are written by hand (support/grounding.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from steerdsl.cli import main
from steerdsl.store.db import open_store
from support.fake_openai import FakeOpenAI
from support.grounding import answer_keys, ground, verdict

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo" / "corpus.jsonl"

SPEC = """
experiment rev {{ seed 5  store "out/rev.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{
  reading_difficulty = flesch_kincaid_grade  normalize 2.8..12.9
  text_length        = token_count           normalize 78..1509
}}
probe p from c {{ sources 4 weighted uniform  requests 1 per source  active 1..1 }}
model fake {{ litellm "openai/fake"  api_base "{url}"  api_key env STEERDSL_TEST_KEY }}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models fake  interventions direct }}
"""

# row -> the judge's verdict: rows 0, 2 and 3 need review ("no", unparsed, "no"); row 1's
# "yes" does not (spot_check 0)
VERDICTS = {0: "no", 1: "yes", 2: None, 3: "no"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A spec run once, with verdicts for its generation: 3 items await review."""
    work = tmp_path_factory.mktemp("review")
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    short = [r for r in records if len(r["text"].split()) < 200][:8]
    (work / "corpus.jsonl").write_text("".join(json.dumps({"text": r["text"]}) + "\n"
                                               for r in short), encoding="utf-8")
    os.environ["STEERDSL_TEST_KEY"] = "sk-test"
    with FakeOpenAI() as server:
        (work / "rev.steer").write_text(SPEC.format(url=server.url), encoding="utf-8")
        assert main(["run", str(work / "rev.steer"), "-q"]) == 0
    con = open_store(work / "out" / "rev.duckdb")
    try:
        gen = con.execute("SELECT gen_hash FROM current_generations").fetchone()[0]
        keys = answer_keys(con, gen)
        ground(con, gen, spot_check=0)
        for row, v in VERDICTS.items():
            verdict(con, keys[(row, 0)], v)
    finally:
        con.close()
    return work


@pytest.fixture
def work(built, tmp_path):
    """A copy of the built project (spec, corpus, store) for one test."""
    dest = tmp_path / "project"
    shutil.copytree(built, dest)
    return dest


def _decisions(work: Path) -> list[tuple]:
    con = open_store(work / "out" / "rev.duckdb", read_only=True)
    try:
        return con.execute("SELECT g.row_id, r.decision, r.decided_at IS NOT NULL "
                           "FROM grounding g JOIN reviews r USING (judge_id, source_hash, "
                           "answer_hash) ORDER BY g.row_id").fetchall()
    finally:
        con.close()


def _export(work: Path, capsys, *extra: str) -> list[dict]:
    out = work / "review.csv"
    assert main(["review", str(work / "rev.steer"), "--export", str(out), *extra]) == 0
    assert "3 items awaiting review" in capsys.readouterr().out
    with open(out, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_export_edit_import_round_trip(work, capsys):
    rows = _export(work, capsys)
    assert list(rows[0]) == ["id", "model", "intervention", "row_id", "sample", "verdict",
                             "rationale", "source", "rewrite", "decision"]
    assert [(r["row_id"], r["verdict"], r["decision"]) for r in rows] == [
        ("0", "no", ""), ("2", "unparsed", ""), ("3", "no", "")]
    assert rows[1]["rationale"] == "garbage"  # unparsed: the judge's raw answer
    assert all(r["source"] and r["rewrite"] and r["model"] == "fake" for r in rows)
    rows[0]["decision"], rows[1]["decision"] = "Approve", " reject "
    _write_csv(work / "review.csv", rows)
    assert main(["review", str(work / "rev.steer"), "--import", str(work / "review.csv")]) == 0
    out = capsys.readouterr().out
    assert "recorded 2 decisions" in out and "1 left empty" in out
    assert "1 item still await" in out
    assert _decisions(work) == [(0, "approve", True), (2, "reject", True)]
    # the next export holds what is left; importing the first file again changes nothing
    assert main(["review", str(work / "rev.steer"), "--export", str(work / "next.csv")]) == 0
    assert "1 item awaiting review" in capsys.readouterr().out
    assert main(["review", str(work / "rev.steer"), "--import", str(work / "review.csv")]) == 0
    assert _decisions(work) == [(0, "approve", True), (2, "reject", True)]


def test_export_refuses_an_existing_file_without_force(work, capsys):
    out = work / "review.csv"
    out.write_text("precious", encoding="utf-8")
    assert main(["review", str(work / "rev.steer"), "--export", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "precious"
    assert len(_export(work, capsys, "--force")) == 3


def test_import_reports_every_problem_by_line_and_records_nothing(work, capsys):
    rows = _export(work, capsys)
    rows[0]["decision"] = "approve"
    rows[1]["decision"] = "maybe"
    rows[2]["decision"] = "reject"
    rows.append(dict(rows[0], decision="reject"))
    rows.append(dict(rows[2], id="0123456789ab", decision="approve"))
    _write_csv(work / "review.csv", rows)
    # the texts span several lines: line numbers are where each record starts
    starts = [1]
    text = (work / "review.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    while True:
        start = reader.line_num + 1
        if next(reader, None) is None:
            break
        starts.append(start)
    assert main(["review", str(work / "rev.steer"), "--import", str(work / "review.csv")]) == 1
    err = capsys.readouterr().err
    assert "3 problem(s), nothing recorded" in err
    assert f"line {starts[2]}: decision 'maybe' is not approve, reject or empty (skip)" in err
    assert f"line {starts[4]}: id '{rows[0]['id']}' again (first on line {starts[1]})" in err
    assert f"line {starts[5]}: unknown id '0123456789ab'" in err
    assert _decisions(work) == []


def test_import_without_the_needed_columns(work, capsys):
    (work / "bad.csv").write_text("id,verdict\nabc,no\n", encoding="utf-8")
    assert main(["review", str(work / "rev.steer"), "--import", str(work / "bad.csv")]) == 1
    assert "line 1: no column decision" in capsys.readouterr().err


def test_without_a_terminal_it_points_to_export_and_import(work, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["review", str(work / "rev.steer")]) == 2
    err = capsys.readouterr().err
    assert "needs a terminal" in err and "--export review.csv" in err and "--import" in err


# --- the terminal review, through a pseudo-terminal ---------------------------------------

_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[()][0-9A-B]|[=>78])")


class Terminal:
    """`python -m steerdsl.cli review SPEC` on a pseudo-terminal."""

    def __init__(self, work: Path):
        self.master, slave = pty.openpty()
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 140, 0, 0))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get(
            "PYTHONPATH", "")]), TERM="xterm-256color", COLUMNS="140", LINES="50")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "steerdsl.cli", "review", str(work / "rev.steer")],
            stdin=slave, stdout=slave, stderr=slave, cwd=work, env=env, close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while text not in self.seen:
            left = end - time.monotonic()
            assert left > 0, f"{text!r} not shown; the screen said:\n{self.seen[-2000:]}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the process ended
                    chunk = b""
                if not chunk:
                    assert text in self.seen, f"{text!r} not shown before the end:\n{self.seen}"
                    return
                self.seen += _ANSI.sub("", chunk.decode("utf-8", errors="replace"))

    def screen(self, position: str) -> str:
        """The whole screen of the item at `position` ("2 of 3"), once drawn."""
        self.expect(position)
        self.expect("[q] quit")
        return self.seen[self.seen.index(position):]

    def press(self, key: str) -> None:
        self.seen = ""
        os.write(self.master, key.encode())

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


def test_terminal_review_is_kept_through_a_kill_and_resumes(work):
    term = Terminal(work)
    try:
        screen = term.screen("1 of 3")
        assert "row 0" in screen and "verdict: no" in screen and "rationale: because no" in screen
        assert "source" in screen and "rewrite" in screen and "[a] approve" in screen
        term.press("x")  # not a key of the review: nothing happens
        term.press("a")
        screen = term.screen("2 of 3")
        assert "row 2" in screen and "verdict: unparsed" in screen
        assert "judge's answer: garbage" in screen
        term.press("r")
        term.screen("3 of 3")
        term.proc.send_signal(signal.SIGKILL)
        assert term.close() == -signal.SIGKILL
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    assert _decisions(work) == [(0, "approve", True), (2, "reject", True)]

    term = Terminal(work)  # resumes at the first undecided item
    assert "row 3" in term.screen("1 of 1")
    term.press("s")
    term.expect("0 decisions (0 approved, 0 rejected; 1 skipped); 1 item still await review")
    assert term.close() == 0

    term = Terminal(work)
    term.screen("1 of 1")
    term.press("a")
    term.expect("recorded 1 decision (1 approved, 0 rejected; 0 skipped)")
    assert term.close() == 0
    assert _decisions(work) == [(0, "approve", True), (2, "reject", True), (3, "approve", True)]

    term = Terminal(work)
    term.expect("nothing awaits review")
    assert term.close() == 0
