"""Calibrated requests end to end, on the loopback server with the miscalibrated rewriter
(support.rewriter: length overshoots x2, wordlen undershoots x0.4, length moves variety):
`calibrated` lowers the median steering error of `direct` on the held-out probe; the fit and
the requests are the same on every run of the spec; kill -9 during the calibration's
requests, then rerun, asks for no stored answer again."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections import Counter

import pytest

import steerdsl
from steerdsl.run.runner import run_plan
from steerdsl.store.db import open_store
from support import rewriter
from support.crash import kill_9_when, steerdsl_run, stored_rows
from support.calibration_specs import write_spec
from support.fake_openai import FakeOpenAI

# table -> (its stage hash column, order); hashes differ between the two servers' addresses
FIT_TABLES = {
    "calibration_fits": ("calib_hash", "goal, direction, lo"),
    "calibration_effects": ("calib_hash", "cause, effect"),
    "calibration_points": ("calib_hash", "row_id, sample, goal"),
    "calibration_requests": ("gen_hash", "row_id, goal"),
}


def rows(path, table: str) -> list[tuple]:
    hash_column, order = FIT_TABLES[table]
    con = open_store(path)
    try:
        return con.execute(f"SELECT * EXCLUDE ({hash_column}) FROM {table} "
                           f"ORDER BY {order}").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run: its store and the server's log."""
    folder = tmp_path_factory.mktemp("calibrated")
    with FakeOpenAI(default=rewriter.default) as server:
        plan = steerdsl.load(write_spec(folder, server.url)).plan()
        assert run_plan(plan, quiet=True).status == "ok"
        return folder / "cal.duckdb", server.requests()


def test_calibration_lowers_the_median_steering_error(reference):
    store, _ = reference
    con = open_store(store)
    try:
        median = dict(((iv, metric), m) for iv, metric, m in con.execute(
            "SELECT intervention, metric, median FROM summary "
            "WHERE metric IN ('steering_error', 'steering_error_raw')").fetchall())
    finally:
        con.close()
    assert median["calibrated", "steering_error"] < median["direct", "steering_error"]
    assert median["calibrated", "steering_error_raw"] < median["direct", "steering_error_raw"]
    # The rewriter and its world are exact: these are the values, not bounds.
    assert median["direct", "steering_error"] == pytest.approx(0.17244382588379248, abs=1e-12)
    assert median["calibrated", "steering_error"] == pytest.approx(0.0, abs=1e-12)
    assert median["direct", "steering_error_raw"] == pytest.approx(0.2203425542079802, abs=1e-9)
    assert median["calibrated", "steering_error_raw"] == pytest.approx(0.1003619809973744,
                                                                       abs=1e-9)


def test_the_fit_finds_the_rewriters_miscalibration(reference):
    store, _ = reference
    con = open_store(store)
    try:
        plain = dict(((g, d), p) for g, d, p in con.execute(
            "SELECT goal, direction, predicted FROM calibration WHERE words = ''").fetchall())
        effects = {(c, e): k for c, e, k in con.execute(
            "SELECT cause, effect, coefficient FROM calibration_side_effects").fetchall()}
        keeps = con.execute("SELECT count(*), min(goal), max(goal) FROM calibrated_requests "
                            "WHERE requested IS NULL").fetchone()
        asked = con.execute("SELECT count(*) FROM calibrated_requests WHERE goal = 'length' "
                            "AND requested > 0.2 AND asked = 0.1").fetchone()[0]
    finally:
        con.close()
    # "longer" means 0.35 to the rewriter, which moves 2 x 0.35 (clipped at the top).
    assert 0.55 < plain["length", 1] <= 0.7
    assert 0.1 < plain["wordlen", 1] < 0.2  # 0.4 x 0.35
    assert effects["length", "variety"] < -0.5 and abs(effects["wordlen", "length"]) < 0.01
    assert keeps[0] > 0 and keeps[1:] == ("variety", "variety")
    assert asked > 0  # overshooting length: a large request is asked "slightly"


def test_prompts_ask_what_was_recorded(reference):
    store, log = reference
    con = open_store(store)
    try:
        prompts = [p for (p,) in con.execute(
            "SELECT c.prompt FROM calls c JOIN generations g USING (gen_hash) "
            "WHERE g.intervention = 'calibrated'").fetchall()]
        keep_rows = con.execute("SELECT count(DISTINCT row_id) FROM calibrated_requests "
                                "WHERE words = 'keep variety unchanged'").fetchone()[0]
    finally:
        con.close()
    assert sum("keep variety unchanged" in p for p in prompts) == keep_rows > 0
    # Calibration's own requests (the uncalibrated prompt on the calibration probe) were sent.
    assert len(log) == 120 + 40 + 40


def test_kill_9_during_the_calibration_then_rerun_asks_nothing_twice(reference, tmp_path):
    ref_store, _ = reference

    def slow(request):  # long enough to kill the run amid the calibration's requests
        return dataclasses.replace(rewriter.default(request), delay=0.05)

    with FakeOpenAI(default=slow) as server:
        spec = write_spec(tmp_path, server.url)
        kill_9_when(steerdsl_run(spec), lambda: server.count() >= 20)
        store = tmp_path / "cal.duckdb"
        stored = Counter(p for (p,) in stored_rows(store, "SELECT prompt FROM calls"))
        [(fits,)] = stored_rows(store, "SELECT count(*) FROM calibration_fits")
        assert 0 < sum(stored.values()) < 120 and fits == 0  # killed amid the calibration
        seen = server.count()
        done = subprocess.run([sys.executable, "-m", "steerdsl.cli", "run", str(spec), "-q"],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        sent = Counter(r.prompt for r in server.requests()[seen:])
    # No stored answer was asked for again: every prompt sent after the kill was missing.
    con = open_store(tmp_path / "cal.duckdb")
    try:
        final = Counter(p for (p,) in con.execute("SELECT prompt FROM calls").fetchall())
    finally:
        con.close()
    assert sent == final - stored
    # The same fit and the same requests as the uninterrupted run: reproducible from the seed.
    for table in FIT_TABLES:
        assert rows(tmp_path / "cal.duckdb", table) == rows(ref_store, table), table


def test_the_report_draws_asked_versus_realized_before_and_after(reference):
    from steerdsl.report import render_report

    store, _ = reference
    html = render_report([store])
    section = html.split("id='s0-calibration'>")[1].split("</section>")[0]
    assert "<h3>fake / calibrated</h3>" in section
    assert section.count("<svg") == 3  # length, wordlen, variety
    assert "href='#s0-calibration'" in html and html.count("id='s0-calibration'") == 1
