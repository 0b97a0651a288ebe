"""The report on real DuckDB stores: exact values from METHOD.md's worked cases, consistency with
the store's views, escaping, comparison, and the `steerdsl report` command."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from steerdsl.cli import main
from steerdsl.report import data, render_report, write_report
from steerdsl.report.load import load_store
from steerdsl.store.db import open_store
from support.synthetic_store import (WORKED_CASES, write_synthetic_store,
                                     write_worked_cases_store)


@pytest.fixture(scope="module")
def worked(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("worked") / "worked.duckdb"
    write_worked_cases_store(path)
    return path


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "synthetic.duckdb"
    write_synthetic_store(path, n_sources=8, per_source=8, seed=3)
    return path


def load(path: Path, variant: data.Variant = "binned") -> data.StoreData:
    con = open_store(path, read_only=True)
    try:
        return load_store(con, str(path), variant)
    finally:
        con.close()


def headline_cells(page: str) -> dict[str, list[str]]:
    """model -> the headline table's cells of that model's row, as text."""
    table = re.search(r"<table class='headline'>(.*?)</table>", page, re.S).group(1)
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c))
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out[cells[0]] = cells[1:]
    return out


# --- worked cases: exact values -----------------------------------------------------------


def test_headline_shows_the_worked_values_median_and_iqr(worked):
    page = render_report([worked])
    cells = headline_cells(page)
    # model: [intervention, n, SE, MIS, ORTH] (binned, METHOD.md section 5)
    assert cells["no_move"] == ["direct", "1", "0.286 (0.000)", "1.000 (0.000)", "0.001 (0.000)"]
    assert cells["overshoot"] == ["direct", "1", "0.143 (0.000)", "0.500 (0.000)",
                                  "0.000 (0.000)"]
    assert cells["side_effect_only"] == ["direct", "1", "0.404 (0.000)", "1.000 (0.000)",
                                         "1.000 (0.000)"]
    assert cells["wrong_way"] == ["direct", "1", "0.571 (0.000)", "2.000 (0.000)",
                                  "0.000 (0.000)"]
    # the best (lowest) median of every metric is the perfect answer's 0
    table = re.search(r"<table class='headline'>(.*?)</table>", page, re.S).group(1)
    best = [r.count("class='num best'") for r in re.findall(r"<tr>(.*?)</tr>", table)]
    perfect = [r for r in re.findall(r"<tr>(.*?)</tr>", table) if ">perfect</td>" in r]
    assert perfect[0].count("class='num best'") == 3 and sum(best) == 3


def test_raw_variant_shows_raw_worked_values(worked):
    cells = headline_cells(render_report([worked], variant="raw"))
    assert cells["no_move"][2:] == ["0.300 (0.000)", "1.000 (0.000)", "0.001 (0.000)"]
    assert cells["overshoot"][2:] == ["0.350 (0.000)", "1.167 (0.000)", "0.000 (0.000)"]


def test_side_effects_of_the_side_effect_only_case(worked):
    d = load(worked)
    effects = d.side_effects
    # rd was asked to move and did not; td was not asked and moved 0.4
    assert effects.by_goal[("side_effect_only", "direct", "rd")] == pytest.approx(
        (0.0, 1, None, 0), abs=1e-12)
    assert effects.by_goal[("side_effect_only", "direct", "td")] == pytest.approx(
        (None, 0, 0.4, 1), abs=1e-12)
    assert effects.matrix[("side_effect_only", "direct")] == pytest.approx(
        {("rd", "td"): 0.4, ("rd", "tl"): 0.0, ("rd", "fm"): 0.0}, abs=1e-12)
    assert effects.vmax == pytest.approx(0.4)
    # the perfect answer moved nothing it was not asked to move
    assert set(effects.matrix[("perfect", "direct")].values()) == {0.0}


def test_flows_draw_the_unrequested_movement(worked):
    panels = {(p.x_goal, p.y_goal): p for p in load(worked).flows[("side_effect_only", "direct")]}
    # pairs of goals the row did not request (rd was requested), in goal order
    assert list(panels) == [("td", "tl"), ("td", "fm"), ("tl", "fm")]
    assert panels[("td", "tl")].arrows == [pytest.approx((0.5, 0.5, 0.9, 0.5))]
    assert panels[("td", "tl")].n == 1
    assert panels[("td", "tl")].field == []  # a grid cell needs at least 3 answers


def test_requested_vs_realized_points(worked):
    scatters = load(worked).scatters
    for case, (source, delta, output) in WORKED_CASES.items():
        (panel,) = scatters[(case, "direct")]
        assert panel.goal == "rd"
        assert panel.points == [pytest.approx((delta[0], output[0] - source[0]))]


def test_header_describes_the_store(worked):
    d = load(worked)
    h = d.header
    assert h.experiment == "worked"
    assert [g.name for g in h.goals] == ["rd", "td", "tl", "fm"]
    assert (h.goals[0].lo, h.goals[0].hi, h.goals[0].normalize) == (2.8, 12.9, "fixed 2.8..12.9")
    assert h.goals[0].measure == "flesch_kincaid_grade"
    assert h.probe == "steerbench" and h.probe_rows == 5
    assert (h.total.ok, h.total.failed) == (5, 0)
    assert h.samples == {"direct": 1}
    assert d.best_of_n == {}


def test_texts_are_escaped(worked):
    page = render_report([worked])
    assert "<script>" not in page and "<b>&amp;</b>" not in page
    assert "Answer of the no move case &lt;script&gt;x&lt;/script&gt;." in page
    assert "Source text of the no move case &lt;b&gt;&amp;amp;&lt;/b&gt;." in page


# --- a synthetic store: consistency with the views ---------------------------------------


def test_best_of_n_curve_ends_at_the_selected_answers_median(synthetic):
    d = load(synthetic)
    con = open_store(synthetic, read_only=True)
    try:
        for model in ("llama", "gpt"):
            curve = d.best_of_n[(model, "best4")]
            assert [k for k, _ in curve["steering_error"]] == [1, 2, 3, 4]
            for metric in data.METRICS:
                (median,) = con.execute(
                    "SELECT median FROM summary WHERE model = ? AND intervention = 'best4' "
                    "AND metric = ?", [model, metric]).fetchone()
                assert curve[metric][-1][1] == pytest.approx(median)
            # k = 1: the first sample of every request, whatever its error
            (first,) = con.execute(
                "SELECT median(steering_error) FROM metrics WHERE model = ? AND "
                "intervention = 'best4' AND sample = 0", [model]).fetchone()
            assert curve["steering_error"][0][1] == pytest.approx(first)
    finally:
        con.close()
    assert ("llama", "direct") not in d.best_of_n


def test_distributions_match_the_summary_view(synthetic):
    d = load(synthetic)
    con = open_store(synthetic, read_only=True)
    try:
        for dist in d.distributions:
            for (m, i), (n, q1, med, q3, wlo, whi, edges, counts) in dist.boxes.items():
                row = con.execute("SELECT n, q1, median, q3, min, max FROM summary WHERE "
                                  "model = ? AND intervention = ? AND metric = ?",
                                  [m, i, dist.metric]).fetchone()
                assert (n, q1, med, q3) == pytest.approx(row[:4])
                assert row[4] <= wlo <= q1 <= med <= q3 <= whi <= row[5]
                assert sum(counts) <= n and len(counts) == len(edges) - 1
    finally:
        con.close()


def test_header_counts_calls_and_cost(synthetic):
    h = load(synthetic).header
    con = open_store(synthetic, read_only=True)
    try:
        ok, failed, cost = con.execute(
            "SELECT count(*) FILTER (WHERE status = 'ok'), "
            "count(*) FILTER (WHERE status <> 'ok'), sum(cost) FROM calls").fetchone()
    finally:
        con.close()
    assert (h.total.ok, h.total.failed) == (ok, failed)
    assert failed > 0
    assert h.total.cost == pytest.approx(cost)


def test_examples_show_the_same_rows_for_every_group(synthetic):
    examples = load(synthetic).examples
    rows = {e.row_id for e in examples}
    assert len(rows) == 2
    for row in rows:
        groups = [e.group.label for e in examples if e.row_id == row]
        assert groups == ["gpt / best4", "gpt / direct", "llama / best4", "llama / direct"]
    e = examples[0]
    assert e.request.startswith("Please rewrite the following, but make it ")
    assert e.source and e.source not in e.request
    assert len(e.goals) == 4


def test_report_is_self_contained_and_small(synthetic, tmp_path):
    out = write_report([synthetic], tmp_path / "r.html")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for pattern in (r"<script", r"<link", r"<img", r"\bsrc=", r"@import", r"url\("):
        assert not re.search(pattern, page, re.I), pattern
    assert re.findall(r"https?://[^\s\"'<]+", page) == ["http://www.w3.org/2000/svg"] * \
        page.count("<svg")
    assert "@media print" in page
    assert out.stat().st_size < 2_000_000
    # every section is there
    for anchor in ("headline", "distributions", "side-effects", "flows", "scatter",
                   "best-of-n", "examples"):
        assert f"id='s0-{anchor}'" in page


def test_the_report_does_not_change_the_store(synthetic, tmp_path):
    before = synthetic.stat().st_mtime_ns, synthetic.stat().st_size
    write_report([synthetic], tmp_path / "r.html")
    assert (synthetic.stat().st_mtime_ns, synthetic.stat().st_size) == before


# --- comparison and the command ------------------------------------------------------------


def test_comparison_shows_both_medians_and_the_difference(worked, synthetic, tmp_path):
    other = tmp_path / "worked2.duckdb"
    write_worked_cases_store(other, intervention="direct")
    page = render_report([worked, other])
    assert "id='comparison'" in page
    table = re.search(r"<table class='comparison'>(.*?)</table>", page, re.S).group(1)
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", table, re.S) if "no_move" in r)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[:5] == ["no_move", "direct", "0.286 (0.000)", "0.286 (0.000)", "0.000"]
    # both stores' full reports follow, with distinct names
    assert "A: worked (worked.duckdb)" in page and "B: worked (worked2.duckdb)" in page
    assert "id='s0-headline'" in page and "id='s1-headline'" in page

    mixed = render_report([worked, synthetic])
    table = re.search(r"<table class='comparison'>(.*?)</table>", mixed, re.S).group(1)
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", table, re.S) if "llama" in r)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert cells[2] == "–" and cells[4] == "–"  # in B only


def test_command_writes_next_to_the_store_by_default(worked, tmp_path, capsys):
    store = tmp_path / "copy.duckdb"
    store.write_bytes(worked.read_bytes())
    assert main(["report", str(store)]) == 0
    out = tmp_path / "copy.report.html"
    assert out.exists() and "no_move" in out.read_text(encoding="utf-8")
    assert f"wrote {out}" in capsys.readouterr().err


def test_command_output_option_and_comparison(worked, tmp_path):
    out = tmp_path / "sub" / "cmp.html"
    assert main(["report", str(worked), str(worked), "-o", str(out), "--raw"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "id='comparison'" in page and "raw variants" in page


def test_command_errors_are_messages(worked, tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.duckdb")]) == 1
    assert "no store at" in capsys.readouterr().err
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    assert main(["report", str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert main(["report", str(worked), "-o", str(tmp_path)]) == 1  # a folder
    assert "cannot write the report to" in capsys.readouterr().err
    assert main(["report", "a.duckdb", "b.duckdb", "c.duckdb"]) == 2
    assert "one store" in capsys.readouterr().err


def test_a_store_without_results_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "empty.duckdb"
    open_store(empty).close()
    assert main(["report", str(empty)]) == 1
    assert "no results" in capsys.readouterr().err


def test_a_spec_argument_reports_its_store(tmp_path):
    (tmp_path / "corpus.jsonl").write_text('{"text": "A short text."}\n', encoding="utf-8")
    spec = tmp_path / "exp.steer"
    spec.write_text("""
experiment exp { seed 1  store "results/exp.duckdb" }
corpus c { read "corpus.jsonl" text "text" }
goals { text_length = token_count normalize 78..1509 }
probe p from c { sources 1 unweighted  requests 1 per source  active 1 }
model m { litellm "openai/x"  api_base "http://127.0.0.1:9/v1" }
intervention direct { prompt direct }
evaluate { probe p  models m  interventions direct }
""", encoding="utf-8")
    store = tmp_path / "results" / "exp.duckdb"
    store.parent.mkdir()
    write_worked_cases_store(store)
    assert main(["report", str(spec)]) == 0
    assert "no_move" in (tmp_path / "results" / "exp.report.html").read_text(encoding="utf-8")


def test_the_installed_views_are_used_not_the_stores_own(worked, tmp_path):
    # a store written by an older version: its views are missing or different
    old = tmp_path / "old.duckdb"
    old.write_bytes(worked.read_bytes())
    import duckdb

    con = duckdb.connect(str(old))  # not open_store: it would put the views back
    con.execute("DROP VIEW summary")
    con.execute("CREATE OR REPLACE VIEW metrics AS SELECT 1 AS stale")
    con.close()
    cells = headline_cells(render_report([old]))
    assert cells["no_move"][2] == "0.286 (0.000)"


def test_a_duckdb_file_that_is_not_a_store(tmp_path, capsys):
    import duckdb

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    assert main(["report", str(other)]) == 1
    assert "is not a steerdsl store" in capsys.readouterr().err


def test_many_groups_get_distinct_colours_and_capped_examples(tmp_path):
    store = tmp_path / "many.duckdb"
    write_synthetic_store(store, models=("llama", "gpt", "qwen"),
                          interventions={"direct": 1, "negprompt": 1, "best2": 2},
                          n_sources=3, per_source=2, failed_fraction=0.0)
    page = render_report([store])
    swatches = re.findall(r'class="swatch" style="background:(#[0-9A-Fa-f]{6})"', page)
    assert len(swatches) == 9 and len(set(swatches)) == 9
    assert "Showing the first 6 of 9 model x intervention groups." in page
    examples = re.findall(r"<div class='example'><p><b>([^<]+)</b>", page)
    assert len(examples) == 2 * 6


def test_best_of_n_leaves_out_select_first_interventions(tmp_path):
    store = tmp_path / "first.duckdb"
    write_synthetic_store(store, models=("gpt",), interventions={"best3": 3, "first3": 3},
                          n_sources=2, per_source=4)
    import duckdb

    con = duckdb.connect(str(store))
    con.execute("""UPDATE generations SET settings = json_merge_patch(settings,
                   '{"intervention": {"select": "first"}}') WHERE intervention = 'first3'""")
    con.close()
    d = load(store)
    assert list(d.best_of_n) == [("gpt", "best3")]
    assert d.header.samples == {"best3": 3, "first3": 3}


def test_report_never_writes_over_its_inputs(worked, tmp_path):
    """As a user runs it: -o naming the store (or the spec) is refused, both left intact."""
    import subprocess
    import sys

    store = tmp_path / "copy.duckdb"
    store.write_bytes(worked.read_bytes())
    spec = tmp_path / "exp.steer"
    spec.write_text(f'experiment exp {{ seed 1  store "{store.name}" }}\n', encoding="utf-8")
    before = store.read_bytes(), spec.read_bytes()
    for target, args in ((store, [str(store)]), (spec, [str(spec)]),
                         (store, [str(spec)]), (store, [str(worked), str(store)])):
        r = subprocess.run([sys.executable, "-m", "steerdsl.cli", "report", *args,
                            "-o", str(target), "--force"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert (r.returncode, r.stdout) == (2, ""), r.stderr
        assert r.stderr == (f"error: refusing to write the report over {target}: it is an "
                            "input of this command; choose another -o\n")
    assert (store.read_bytes(), spec.read_bytes()) == before


def test_report_replaces_only_html_files_unless_forced(worked, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert main(["report", str(worked), "-o", str(notes)]) == 2
    assert capsys.readouterr().err == (
        f"error: {notes} exists and is not an HTML report: choose another -o, or add "
        "--force to replace it\n")
    assert notes.read_text() == "my notes\n"
    assert main(["report", str(worked), "-o", str(notes), "--force"]) == 0
    assert notes.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    old = tmp_path / "old.html"
    old.write_text("<!doctype html><html><body>an older report</body></html>")
    assert main(["report", str(worked), "-o", str(old)]) == 0
    assert "no_move" in old.read_text(encoding="utf-8")
    capsys.readouterr()


def test_report_to_an_unwritable_place(worked, tmp_path, capsys):
    assert main(["report", str(worked), "-o", "/proc/x.html"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the report to /proc/x.html: ")
    assert len(err.splitlines()) == 1
    assert main(["report", str(worked), "-o", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (f"error: cannot write the report to {tmp_path}: it is a "
                                       "folder; give a file name\n")


def _report_error(path: Path, capsys) -> str:
    assert main(["report", str(path)]) == 1
    return capsys.readouterr().err


def test_a_run_whose_calls_all_failed_says_what_is_there(tmp_path, capsys):
    path = tmp_path / "failed.duckdb"
    write_synthetic_store(path, models=("llama",), interventions={"direct": 1}, n_sources=2,
                          per_source=2, failed_fraction=1.0)
    con = open_store(path)  # as a run leaves it: generate not done while calls failed
    con.execute("DELETE FROM stages_done WHERE stage LIKE 'generate:%' OR stage LIKE 'score:%'")
    con.close()
    err = _report_error(path, capsys)
    assert err.splitlines() == [
        f"error: the store {path} has no results yet (no scored answers):",
        "  last run: ok",
        "  stages done: corpus:seeds, measure:seeds, space, probe:steerbench",
        "  stages not done: generate:llama/direct, score:llama/direct",
        "  calls of llama/direct: 0 ok, 4 failed",
        "every call failed: see why with `steerdsl query "
        f"{path} \"SELECT error, count(*) FROM calls WHERE status = 'error' GROUP BY ALL\"`, "
        "then `steerdsl run SPEC --retry-errors`"]


def test_a_run_stopped_before_scoring_says_what_is_missing(tmp_path, capsys):
    path = tmp_path / "unscored.duckdb"
    write_synthetic_store(path, models=("llama",), interventions={"direct": 1}, n_sources=2,
                          per_source=2, failed_fraction=0.0)
    con = open_store(path)
    con.execute("DELETE FROM outputs")
    con.execute("DELETE FROM stages_done WHERE stage LIKE 'score:%'")
    con.execute("UPDATE runs SET status = 'interrupted'")
    con.close()
    err = _report_error(path, capsys)
    assert err.splitlines()[1:] == [
        "  last run: interrupted",
        "  stages done: corpus:seeds, measure:seeds, space, probe:steerbench, "
        "generate:llama/direct",
        "  stages not done: score:llama/direct",
        "  calls of llama/direct: 4 ok, 0 failed",
        "the answers are stored but not scored: run the spec again to score them "
        "(`steerdsl run SPEC`)"]


def test_calls_table_counts_truncated_answers(worked, tmp_path):
    store = tmp_path / "cut.duckdb"
    store.write_bytes(worked.read_bytes())
    con = open_store(store)
    cases = sorted(WORKED_CASES)
    gen = dict(con.execute("SELECT model, gen_hash FROM current_generations").fetchall())
    con.execute("UPDATE calls SET finish_reason = 'length' WHERE gen_hash IN (?, ?)",
                [gen[cases[0]], gen[cases[1]]])
    con.execute("INSERT INTO scorings VALUES (?, 'drop')", [gen[cases[1]]])
    con.close()
    h = load(store).header
    assert h.total.truncated == 2
    assert [(m, c.truncated, c.dropped) for (m, _), c in h.calls.items()][:3] == [
        (cases[0], 1, False), (cases[1], 1, True), (cases[2], 0, False)]
    page = render_report([store])
    assert "<dt>calls</dt><dd>5 ok (2 truncated), 0 failed</dd>" in page
    assert "<th class='num'>truncated</th>" in page
    rows = re.findall(r"<tr><td>([^<]+)</td><td>direct</td><td class='num'>1</td>"
                      r"<td class='num'>0</td><td class='num'>([^<]+)</td>", page)
    assert sorted(rows)[:3] == [(cases[0], "1"), (cases[1], "1 (dropped)"), (cases[2], "0")]
