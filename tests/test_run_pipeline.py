"""The runner end to end: real spaCy and textstat, real DuckDB file, real HTTP from litellm to an
OpenAI-compatible server on 127.0.0.1. What is asserted is what a user relies on: every stage
stored, reruns free, an edit reruns exactly what depends on it, `--until probe` calls nothing."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import steerdsl
from steerdsl.cli import main
from support.fake_openai import FakeOpenAI
from support.stores import read_rows as _rows

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "corpus.jsonl"

SPEC = """
experiment exp {{ seed 11  store "out/exp.duckdb" }}
corpus c {{ read "corpus.jsonl" text "text" label "register" }}
goals {{
  reading_difficulty = flesch_kincaid_grade  normalize 2.8..12.9
  formality          = heylighen_dewaele     normalize 40.37..69.121634
  textual_diversity  = mtld                  normalize quantile 2.5%..97.5% of c
  text_length        = token_count           normalize 78..1509
}}
probe p from c {{ sources 4 weighted uniform  requests 2 per source  active 1..3 }}
model fake {{ litellm "openai/fake"  api_base "{url}"  api_key env STEERDSL_TEST_KEY }}
intervention direct {{ prompt direct }}
intervention neg {{ prompt direct {neg} }}
intervention best3 {{ prompt direct  sample 3  temperature 1.0 }}
evaluate {{ probe p  models fake  interventions direct, neg, best3 }}
"""

ROWS = 4 * 2


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    short = [r for r in records if len(r["text"].split()) < 200][:12]
    (tmp_path / "corpus.jsonl").write_text(
        "".join(json.dumps({"text": r["text"], "register": r["register"]}) + "\n"
                for r in short), encoding="utf-8")
    monkeypatch.setenv("STEERDSL_TEST_KEY", "sk-test-secret-4711")
    return tmp_path


def _write(workdir: Path, url: str, neg: str = "negative") -> Path:
    spec = workdir / "exp.steer"
    spec.write_text(SPEC.format(url=url, neg=neg), encoding="utf-8")
    return spec


def test_until_probe_measures_and_draws_without_calling_a_model(workdir):
    with FakeOpenAI() as server:
        spec = _write(workdir, server.url)
        assert main(["run", str(spec), "--until", "probe", "-q"]) == 0
        assert server.count() == 0
    db = workdir / "out" / "exp.duckdb"
    assert _rows(db, "SELECT count(*) FROM probe_rows") == [(ROWS,)]
    # every probe row has all four goals; inactive goals keep their source, with NULL delta
    assert _rows(db, "SELECT count(*), count(delta) BETWEEN ? AND ? FROM probe_goals"
                 .replace("?", "%d") % (ROWS, 3 * ROWS)) == [(4 * ROWS, True)]
    done = {r[0] for r in _rows(db, "SELECT stage FROM stages_done")}
    assert done == {"corpus:c", "measure:c", "space", "probe:p"}
    # the probe's classifier AUC is recorded (weighted)
    (auc,) = _rows(db, "SELECT auc FROM probes")[0]
    assert 0.5 <= auc <= 1.0


def test_full_run_then_free_rerun_then_an_edit_reruns_only_its_intervention(workdir, capsys):
    db = workdir / "out" / "exp.duckdb"
    with FakeOpenAI() as server:
        spec = _write(workdir, server.url)
        assert main(["run", str(spec), "-q"]) == 0
        out = capsys.readouterr().out
        # direct + neg: one request per row; best3: n=3 in one request per row
        assert server.count() == 3 * ROWS
        assert "direct" in out and "best3" in out and "steering error" in out

        metrics = _rows(db, "SELECT intervention, count(*), sum(selected::INT) FROM metrics "
                            "GROUP BY ALL ORDER BY 1")
        assert metrics == [("best3", 3 * ROWS, ROWS), ("direct", ROWS, ROWS), ("neg", ROWS, ROWS)]
        (n_summary,) = _rows(db, "SELECT count(DISTINCT (model, intervention)) FROM summary")[0]
        assert n_summary == 3

        # A rerun sends nothing and measures nothing new.
        before = _rows(db, "SELECT count(*) FROM measurements")
        assert main(["run", str(spec), "-q"]) == 0
        assert server.count() == 3 * ROWS
        assert _rows(db, "SELECT count(*) FROM measurements") == before

        # Editing one intervention reruns only it.
        spec = _write(workdir, server.url, neg="negative no_explain off")
        result = steerdsl.load(spec).run()
        assert server.count() == 4 * ROWS
        assert [s for s in result.stages_run if s.startswith(("generate", "score"))] == [
            "generate:fake/neg", "score:fake/neg"]
        prompts = [r.prompt for r in server.requests()[-ROWS:]]
        assert all("You MUST not change" in p and "Respond with only" not in p for p in prompts)

        # Renaming an intervention generates it again under the new name; the old name
        # drops out of the views (its rows stay in the store).
        renamed = spec.read_text().replace("intervention neg {", "intervention neg2 {").replace(
            "interventions direct, neg, best3", "interventions direct, neg2, best3")
        spec.write_text(renamed)
        assert main(["run", str(spec), "-q"]) == 0
        assert server.count() == 5 * ROWS
        assert _rows(db, "SELECT DISTINCT intervention FROM metrics ORDER BY 1") == [
            ("best3",), ("direct",), ("neg2",)]

    # The views follow the current generations: one answer per row for neg2.
    assert _rows(db, "SELECT count(*) FROM metrics WHERE intervention = 'neg2'") == [(ROWS,)]
    # The Python API reads the same store.
    rel = steerdsl.load(spec).query("SELECT count(*) AS n FROM metrics")
    assert rel.fetchall() == [(5 * ROWS,)]
    # The key never reaches the store.
    con = duckdb.connect(str(db), read_only=True)
    try:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                    "WHERE table_type = 'BASE TABLE'").fetchall():
            dump = json.dumps(con.execute(f"SELECT * FROM {table}").fetchall(), default=str)
            assert "sk-test-secret-4711" not in dump, table
    finally:
        con.close()


def test_failed_requests_are_recorded_and_retried_only_on_request(workdir, capsys):
    from support.fake_openai import Reply

    db = workdir / "out" / "exp.duckdb"
    with FakeOpenAI(default=Reply.error(400)) as server:
        spec = _write(workdir, server.url)
        spec.write_text(spec.read_text().replace(
            "interventions direct, neg, best3", "interventions direct"))
        assert main(["run", str(spec), "-q"]) == 1  # incomplete
        err = capsys.readouterr().err
        assert f"run incomplete: {ROWS} calls failed" in err
        assert _rows(db, "SELECT count(*) FROM calls WHERE status = 'error'") == [(ROWS,)]
        sent = server.count()
        assert main(["run", str(spec), "-q"]) == 1  # still incomplete
        assert server.count() == sent  # errors are not retried unasked

        server.default = Reply.ok()
        assert main(["run", str(spec), "--retry-errors", "-q"]) == 0
        assert server.count() == sent + ROWS
    assert _rows(db, "SELECT status, count(*) FROM calls GROUP BY ALL") == [("ok", ROWS)]
    assert _rows(db, "SELECT count(*) FROM metrics") == [(ROWS,)]
    done = {r[0] for r in _rows(db, "SELECT stage FROM stages_done")}
    assert {"generate:fake/direct", "score:fake/direct"} <= done


def test_truncated_answers_are_counted_and_dropped_on_request(workdir, capsys):
    from support.fake_openai import Reply

    db = workdir / "out" / "exp.duckdb"
    cut: list[str] = []

    def reply(request):  # the first three requests are cut off at max_tokens
        if len(cut) < 3:
            cut.append(request.prompt)
            return Reply.truncated("A text cut off in the mid")
        return Reply.ok()

    with FakeOpenAI(default=reply) as server:
        spec = _write(workdir, server.url)
        spec.write_text(spec.read_text().replace(
            "interventions direct, neg, best3", "interventions direct"))
        assert main(["run", str(spec), "-q"]) == 0
        out = capsys.readouterr().out
        assert server.count() == ROWS
        assert _rows(db, "SELECT finish_reason, count(*) FROM calls GROUP BY ALL "
                         "ORDER BY ALL") == [("length", 3), ("stop", ROWS - 3)]
        assert _rows(db, "SELECT calls, ok, truncated FROM calls_summary") == [(ROWS, ROWS, 3)]
        assert _rows(db, "SELECT truncated, count(*) FROM metrics GROUP BY ALL "
                         "ORDER BY ALL") == [(False, ROWS - 3), (True, 3)]
        assert _rows(db, "SELECT max(n) FROM summary") == [(ROWS,)]
        lines = out.splitlines()
        row = next(line for line in lines if line.startswith("fake "))
        assert row.split()[:6] == ["fake", "direct", str(ROWS), f"0/{ROWS}", "0", "3"]
        assert ("note: 3 answers of fake/direct cut off (finish_reason 'length'): scored, "
                "flagged in metrics.truncated; `truncated drop` in the model or intervention "
                "leaves them out") in lines

        # `truncated drop`: the same answers, scored without the truncated ones; nothing is
        # requested again, and going back needs nothing either.
        text = spec.read_text()
        spec.write_text(text.replace("api_key env STEERDSL_TEST_KEY }",
                                     "api_key env STEERDSL_TEST_KEY  truncated drop }"))
        assert main(["run", str(spec), "-q"]) == 0
        out = capsys.readouterr().out
        assert server.count() == ROWS
        assert _rows(db, "SELECT max(n) FROM summary") == [(ROWS - 3,)]
        assert _rows(db, "SELECT count(*), count(*) FILTER (truncated) FROM metrics") == [
            (ROWS - 3, 0)]
        assert _rows(db, "SELECT truncated FROM calls_summary") == [(3,)]
        assert ("note: 3 answers of fake/direct cut off (finish_reason 'length'): left out "
                "of the metrics (truncated drop)") in out.splitlines()
        spec.write_text(text)
        assert main(["run", str(spec), "-q"]) == 0
        assert server.count() == ROWS
        assert _rows(db, "SELECT max(n) FROM summary") == [(ROWS,)]


def test_a_server_ignoring_n_is_asked_one_by_one_and_compile_says_so(workdir, capsys):
    from support.fake_openai import Reply

    with FakeOpenAI(default=Reply.ok(ignore_n=True)) as server:
        spec = _write(workdir, server.url)
        text = spec.read_text().replace("interventions direct, neg, best3", "interventions best3")
        spec.write_text(text)
        capsys.readouterr()
        assert main(["compile", str(spec)]) == 0
        assert f"requests {ROWS}, samples {3 * ROWS}" in capsys.readouterr().out
        assert main(["run", str(spec), "-q"]) == 0
        # every row's first request asked for 3 and got 1; the rest came one by one
        assert server.count() == 3 * ROWS
        assert sorted(r.n for r in server.requests()) == [1] * (2 * ROWS) + [3] * ROWS
        capsys.readouterr()
        assert main(["compile", str(spec)]) == 0
        out = capsys.readouterr().out
        assert f"requests {3 * ROWS}, samples {3 * ROWS}" in out
        assert (f"note: openai/fake @ {server.url} answers one sample per request (it ignored "
                "n in an earlier run): requests = samples") in out.splitlines()

        # A new best-of-N intervention on the same endpoint: one sample per request from the
        # start, as compile said.
        spec.write_text(text.replace("intervention best3", "intervention best2 { prompt direct "
                                     "sample 2 temperature 1.0 }\nintervention best3")
                        .replace("interventions best3", "interventions best3, best2"))
        assert main(["compile", str(spec)]) == 0
        assert f"requests {2 * ROWS}, samples {2 * ROWS}" in capsys.readouterr().out
        server.clear()
        assert main(["run", str(spec), "-q"]) == 0
        assert [r.n for r in server.requests()] == [1] * (2 * ROWS)
