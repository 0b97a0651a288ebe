"""The judge stage end to end: a real run (corpus to judge) against the loopback
OpenAI-compatible server, which answers generation prompts with a rewrite and judge prompts
(they carry MARK) as scripted per answer: well-formed JSON, fenced JSON with trailing commas,
garbage, failures. What is asserted is what a user relies on: every verdict stored as the
schema says, nothing asked twice (rerun, second generation, kill -9), failures asked again,
the budget honoured, the key never stored."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from steerdsl.grounding.identity import judge_identity
from steerdsl.run.runner import run_plan
from steerdsl.store.db import open_store
from support.crash import kill_9_when
from support.fake_openai import FakeOpenAI, Reply
from steerdsl.grounding.prompt import render_judge_prompt
from support.judge_plans import MARK, TEMPLATE, judged_plan, write_spec
from support.stores import read_rows

YES = '{"answer": "Yes", "rationale": "Both are about the committee."}'
FENCED_NO = '```json\n{\n  "Answer": "NO",\n  "rationale": "A different meeting.",\n}\n```'
GARBAGE = "I am not sure what you are asking me."


def judge_replies(special: dict[str, Reply] | None = None, delay: float = 0.0):
    """The server's answers: rewrites for generation prompts; for judge prompts, the reply
    scripted for the first source note the prompt names ("Note 3."), else YES."""
    special = special or {}

    def reply(request) -> Reply:
        if MARK not in request.prompt:
            return Reply.ok()
        for note, r in special.items():
            if note in request.prompt:
                return r
        return Reply.ok(YES, delay=delay)

    return reply


def verdicts(db: Path) -> list[tuple]:
    return read_rows(db, "SELECT t.text, v.swapped, v.status, v.verdict, v.rationale, v.raw, "
                         "v.error IS NOT NULL, v.prompt_tokens > 0, v.cost > 0 FROM verdicts v "
                         "JOIN texts t ON t.text_hash = v.source_hash ORDER BY t.text")


def judge_prompts(server) -> Counter[str]:
    return Counter(r.prompt for r in server.requests(MARK))


def test_verdicts_stored_as_parsed_with_raw_answers_and_a_rerun_asks_nothing(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("STEERDSL_TEST_KEY", "sk-judge-secret-99")
    replies = {"Note 1.": Reply.ok(FENCED_NO), "Note 2.": Reply.ok(GARBAGE)}
    with FakeOpenAI(default=judge_replies(replies)) as server:
        spec = write_spec(tmp_path, server.url)
        plan = judged_plan(spec)
        result = run_plan(plan, quiet=True)
        assert result.status == "ok"
        assert "judge:fake/direct" in result.stages_run
        assert server.count(MARK) == 6  # one question per answer (order random)
        db = tmp_path / "judged.duckdb"
        got = verdicts(db)
        assert [g[2:] for g in got] == [
            ("ok", "yes", "Both are about the committee.", YES, False, True, True),
            ("ok", "no", "A different meeting.", FENCED_NO, False, True, True),
            ("ok", None, None, GARBAGE, False, True, True),  # unparsed, the raw answer kept
            *[("ok", "yes", "Both are about the committee.", YES, False, True, True)] * 3]
        # the order was drawn per answer: the source shown as A or B as `swapped` says
        for r in server.requests(MARK):
            a = r.prompt.split("Version A: ")[1]
            row = next(g for g in got if g[0] in r.prompt)
            assert a.startswith("answer 0:") == row[1]
        assert read_rows(db, "SELECT gen_hash, judge, judge_id, candidates, spot_check "
                             "FROM groundings") == [
            (plan.stage("generate:fake/direct").hash, "meaning",
             judge_identity(plan, plan.judges[0]), "selected", 0)]
        assert ("judge:fake/direct",) in read_rows(db, "SELECT stage FROM stages_done")
        # A rerun asks nothing; the grounding is recorded again.
        again = run_plan(plan, quiet=True)
        assert again.status == "ok" and "judge:fake/direct" in again.stages_skipped
        assert server.count(MARK) == 6
    for path in tmp_path.rglob("*.duckdb*"):
        assert b"sk-judge-secret-99" not in path.read_bytes()


def test_a_failed_request_is_stored_as_an_error_and_asked_again_by_the_next_run(tmp_path):
    with FakeOpenAI(default=judge_replies()) as server:
        server.script("answer 0: Note 4.", Reply.error(400))  # only in judge prompts
        plan = judged_plan(write_spec(tmp_path, server.url))
        result = run_plan(plan, quiet=True)
        assert result.status == "incomplete" and result.failed_calls == 1
        db = tmp_path / "judged.duckdb"
        failed = [g for g in verdicts(db) if g[2] == "error"]
        assert [(g[0][:7], g[3], g[6]) for g in failed] == [("Note 4.", None, True)]
        assert ("judge:fake/direct",) not in read_rows(db, "SELECT stage FROM stages_done")
        assert server.count(MARK) == 6

        assert run_plan(plan, quiet=True).status == "ok"
        assert server.count(MARK) == 7  # only the failed one, once
        assert server.count("answer 0: Note 4.") == 2
        assert {g[2] for g in verdicts(db)} == {"ok"}
        assert ("judge:fake/direct",) in read_rows(db, "SELECT stage FROM stages_done")


def test_a_second_generation_with_the_same_texts_reuses_the_verdicts(tmp_path):
    with FakeOpenAI(default=judge_replies()) as server:
        # direct and neg get the same rewrites from this server: the same (source, answer)
        plan = judged_plan(write_spec(tmp_path, server.url, interventions="direct, neg"))
        result = run_plan(plan, quiet=True)
        assert result.status == "ok"
        assert {"judge:fake/direct", "judge:fake/neg"} <= set(result.stages_run)
        assert server.count(MARK) == 6
        assert max(judge_prompts(server).values()) == 1
        db = tmp_path / "judged.duckdb"
        assert read_rows(db, "SELECT count(*), count(DISTINCT judge_id) FROM groundings") == [
            (2, 1)]


def test_order_both_asks_each_answer_twice_and_all_judges_every_candidate(tmp_path):
    with FakeOpenAI(default=judge_replies()) as server:
        spec = write_spec(tmp_path, server.url, rows=3, samples=2)
        # distinct candidates: the server's rewrite names its choice index
        result = run_plan(judged_plan(spec, order="both", candidates="all"), quiet=True)
        assert result.status == "ok"
        assert server.count(MARK) == 3 * 2 * 2
        db = tmp_path / "judged.duckdb"
        assert read_rows(db, "SELECT swapped, count(*) FROM verdicts GROUP BY ALL "
                             "ORDER BY 1") == [(False, 6), (True, 6)]


def test_selected_judges_the_best_of_n_pick_only(tmp_path):
    with FakeOpenAI(default=judge_replies()) as server:
        spec = write_spec(tmp_path, server.url, rows=3, samples=2)
        plan = judged_plan(spec)
        assert run_plan(plan, quiet=True).status == "ok"
        assert server.count(MARK) == 3
        db = tmp_path / "judged.duckdb"
        judged = read_rows(db, "SELECT c.row_id, c.sample FROM verdicts v JOIN calls c "
                               "ON c.answer_hash = v.answer_hash ORDER BY 1")
        selected = read_rows(db, "SELECT row_id, sample FROM metrics WHERE selected ORDER BY 1")
        assert judged == selected


def test_truncated_answers_dropped_by_the_spec_are_not_judged(tmp_path):
    def reply(request) -> Reply:
        if MARK in request.prompt:
            return Reply.ok(YES)
        return Reply.truncated() if "Note 0." in request.prompt else Reply.ok()

    with FakeOpenAI(default=reply) as server:
        spec = write_spec(tmp_path, server.url, rows=3)
        spec.write_text(spec.read_text().replace("retries 1", "retries 1\n  truncated drop"))
        for candidates in ("selected", "all"):
            assert run_plan(judged_plan(spec, candidates=candidates), quiet=True).status == "ok"
        assert server.count(MARK) == 2
        assert all("answer 0: Note 0." not in r.prompt for r in server.requests(MARK))


# Every judge question of write_spec's plans costs the same: its words (the fake server's
# tokens) at $100 per million.
_QUESTION = render_judge_prompt(TEMPLATE, "Note 0. The committee met on a rainy day.",
                                "answer 0: Note 0. The committee met on a rainy day.", False)
COST = (len(_QUESTION.split()) + len(YES.split())) * 100 / 1e6


def test_the_budget_stops_the_judge_and_the_next_run_asks_only_the_rest(tmp_path):
    with FakeOpenAI(default=judge_replies()) as server:
        spec = write_spec(tmp_path, server.url, rows=6, concurrency=1)
        plan = judged_plan(spec)
        assert run_plan(plan, until="score", quiet=True).status == "ok"
        db = tmp_path / "judged.duckdb"
        (spent,) = read_rows(db, "SELECT sum(cost) FROM calls")[0]
        budgeted = plan.model_copy(update={"experiment": plan.experiment.model_copy(
            update={"budget_usd": spent + COST * 2.5})})
        result = run_plan(budgeted, quiet=True)
        assert result.status == "budget"
        assert "budget" in result.budget_message
        stored = read_rows(db, "SELECT count(*), sum(cost) FROM verdicts")[0]
        assert stored[0] == 3 == server.count(MARK)  # what was paid for is stored
        assert stored[1] == pytest.approx(COST * 3)
        # still over: the next run asks nothing at all
        assert run_plan(budgeted, quiet=True).status == "budget"
        assert server.count(MARK) == 3
        # the verdicts' cost is part of the run's starting spend
        raised = plan.model_copy(update={"experiment": plan.experiment.model_copy(
            update={"budget_usd": spent + COST * 4.5})})
        assert run_plan(raised, quiet=True).status == "budget"
        assert server.count(MARK) == 5
        assert run_plan(plan, quiet=True).status == "ok"
        assert server.count(MARK) == 6
        assert max(judge_prompts(server).values()) == 1


DELAY = 0.03
LOST_WINDOW_S = 1.5  # the writer flushes every 0.5 s; slack for a loaded machine
ROWS = 120


def test_kill_9_during_the_judge_stage_then_rerun_asks_no_verdict_twice(tmp_path):
    script = Path(__file__).parent / "support" / "judge_plans.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parents[1]), str(Path(__file__).parent)])}
    with FakeOpenAI(default=judge_replies(delay=DELAY)) as server:
        spec = write_spec(tmp_path, server.url, rows=ROWS, concurrency=4)
        plan = judged_plan(spec)
        assert run_plan(plan, until="score", quiet=True).status == "ok"
        db = tmp_path / "judged.duckdb"

        proc = subprocess.Popen([sys.executable, str(script), str(spec)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        killed_at = kill_9_when(proc, lambda: server.count(MARK) >= 10, wait_s=0.8)
        asked = server.requests(MARK)
        con = open_store(db)  # replays the WAL the killed writer left
        n_stored = con.execute("SELECT count(*) FROM verdicts").fetchone()[0]
        stored_answers = {r[0] for r in con.execute(
            "SELECT t.text FROM verdicts v JOIN texts t ON t.text_hash = v.answer_hash"
        ).fetchall()}
        con.close()
        assert 0 < n_stored < ROWS
        # answers older than the flush window were all stored
        old = [r for r in asked if killed_at - r.t > LOST_WINDOW_S]
        assert all(any(a in r.prompt for a in stored_answers) for r in old)

        seen = len(asked)
        proc = subprocess.Popen([sys.executable, str(script), str(spec)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.strip() == "ok", err
        rerun = server.requests(MARK)[seen:]
        # exactly the questions not stored at the kill, each once
        assert len(rerun) == ROWS - n_stored
        assert not any(a in r.prompt for r in rerun for a in stored_answers)
        assert max(judge_prompts(server).values()) <= 2  # at most lost in flight once
        assert read_rows(db, "SELECT count(*), count(*) FILTER (WHERE status = 'ok') "
                             "FROM verdicts") == [(ROWS, ROWS)]


@pytest.mark.local_model
def test_the_built_in_local_model_as_the_judge(tmp_path):
    from steerdsl.plan.model import ModelPlan, SamplingParams

    tiny = ModelPlan(name="tiny", provider="local", model="smollm2",
                     sampling=SamplingParams(temperature=0, max_tokens=48), concurrency=1)
    with FakeOpenAI() as server:
        spec = write_spec(tmp_path, server.url, rows=3)
        plan = judged_plan(spec, model="tiny", extra_models=[tiny])
        result = run_plan(plan, quiet=True)
        assert result.status == "ok", result
        assert server.count(MARK) == 0  # the judge is the local model
    db = tmp_path / "judged.duckdb"
    rows = read_rows(db, "SELECT status, verdict, rationale, raw, prompt_tokens, cost "
                         "FROM verdicts")
    assert len(rows) == 3
    for status, verdict, rationale, raw, prompt_tokens, cost in rows:
        assert status == "ok" and raw and prompt_tokens > 20 and cost == 0.0
        assert verdict in ("yes", "no", None)  # a tiny model may answer anything: then
        # unparsed, with its raw answer kept for review
    # resumable like any model
    assert run_plan(plan, quiet=True).status == "ok"
    assert read_rows(db, "SELECT count(*) FROM verdicts") == [(3,)]


def test_a_spec_that_drops_its_judge_no_longer_grounds_its_generations(tmp_path):
    with FakeOpenAI(default=judge_replies()) as server:
        spec = write_spec(tmp_path, server.url, rows=2)
        assert run_plan(judged_plan(spec), quiet=True).status == "ok"
        db = tmp_path / "judged.duckdb"
        assert read_rows(db, "SELECT count(*) FROM groundings") == [(1,)]
        import steerdsl

        assert run_plan(steerdsl.load(spec).plan(), quiet=True).status == "ok"
        assert read_rows(db, "SELECT count(*) FROM groundings") == [(0,)]
        assert read_rows(db, "SELECT count(*) FROM verdicts") == [(2,)]  # the cache stays
        assert run_plan(judged_plan(spec), quiet=True).status == "ok"
        assert read_rows(db, "SELECT count(*) FROM groundings") == [(1,)]
        assert server.count(MARK) == 2
