"""The generate stage against a real OpenAI-compatible server on 127.0.0.1 (fake_openai)."""

from __future__ import annotations

import pytest

from steerdsl.errors import RunError
from steerdsl.llm.budget import BudgetExceeded, Ledger
from steerdsl.stages.generate.engine import GenProgress, run_generate
from steerdsl.plan.hashing import derive_seed
from steerdsl.prompts.render import render_prompt
from steerdsl.texts import text_hash
from support.fake_openai import FakeOpenAI, Reply, default_answer
from support.gen_plans import fake_model, intervention, make_plan, make_rows

FAST = 0.01  # first pause before retrying a failed request, seconds


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


def setup(server, iv=None, **model_kw):
    model = fake_model(server.url, **model_kw)
    iv = iv or intervention()
    plan = make_plan([model], [iv])
    return plan, plan.stage(f"generate:{model.name}/{iv.name}")


def calls(con, stage=None):
    sql = ("SELECT row_id, sample, status, answer, raw_answer, error, attempts, answer_hash, "
           "prompt, prompt_tokens, completion_tokens, cost FROM calls")
    rows = con.execute(sql + (" WHERE gen_hash = ?" if stage else "") + " ORDER BY row_id, sample",
                       [stage.hash] if stage else []).fetchall()
    keys = ["row_id", "sample", "status", "answer", "raw_answer", "error", "attempts",
            "answer_hash", "prompt", "prompt_tokens", "completion_tokens", "cost"]
    return [dict(zip(keys, r)) for r in rows]


def test_every_row_answered_once_with_exact_prompts(server, con):
    plan, stage = setup(server)
    rows = make_rows(30)
    seen: list[GenProgress] = []
    stats = run_generate(con, plan, stage, rows, progress=seen.append, retry_base_s=FAST)
    assert (stats.total, stats.ok, stats.errors, stats.requests) == (30, 30, 0, 30)
    assert stats.complete
    got = calls(con, stage)
    assert [(c["row_id"], c["sample"], c["status"]) for c in got] == [(i, 0, "ok") for i in range(30)]
    iv, prompt = plan.intervention("direct"), plan.prompt("direct")
    for row, c in zip(rows, got):
        seed = derive_seed(plan.experiment.seed, "prompt", "direct", str(row.row_id))
        assert c["prompt"] == render_prompt(prompt, iv, row.deltas, row.text, seed)
        assert c["answer"] == c["raw_answer"] == default_answer(c["prompt"], 0)
        assert c["answer_hash"] == text_hash(c["answer"])
        assert c["attempts"] == 1
        assert c["prompt_tokens"] == len(c["prompt"].split())
        assert c["completion_tokens"] == len(c["answer"].split())
        assert c["cost"] is None  # "openai/fake" has no price
    assert set(server.counts().values()) == {1} and len(server.counts()) == 30
    texts = dict(con.execute("SELECT text_hash, text FROM texts").fetchall())
    assert all(texts[c["answer_hash"]] == c["answer"] for c in got)
    gen = con.execute("SELECT model, intervention, probe_hash FROM generations WHERE gen_hash = ?",
                      [stage.hash]).fetchall()
    assert gen == [("fake", "direct", "probe-hash-0001")]
    assert seen[-1].done == seen[-1].total == 30 and seen[-1].errors == 0

    # A rerun requests nothing.
    again = run_generate(con, plan, stage, rows, retry_base_s=FAST)
    assert (again.already_ok, again.ok, again.requests) == (30, 0, 0)
    assert server.count() == 30


def test_failures_are_retried_up_to_retries_then_recorded(server, con):
    plan, stage = setup(server, retries=2)
    rows = make_rows(8)
    server.script("source text 3 ", *[Reply.error(500)] * 3)
    server.script("source text 5 ", Reply.error(503), Reply.ok())
    server.script("source text 6 ", Reply.error(400))  # the request itself is wrong: no retry
    stats = run_generate(con, plan, stage, rows, retry_base_s=FAST)
    assert (stats.ok, stats.errors) == (6, 2)
    assert not stats.complete
    assert server.count("source text 3 ") == 3  # 1 + retries
    assert server.count("source text 5 ") == 2
    assert server.count("source text 6 ") == 1
    by_row = {c["row_id"]: c for c in calls(con, stage)}
    assert len(by_row) == 8  # every row accounted for
    assert by_row[3]["status"] == "error" and by_row[3]["attempts"] == 3
    assert "InternalServerError" in by_row[3]["error"] and by_row[3]["answer"] is None
    assert by_row[5]["status"] == "ok" and by_row[5]["attempts"] == 2
    assert by_row[6]["status"] == "error" and "BadRequest" in by_row[6]["error"]

    # Without retry_errors the error rows stay; with it only they are requested again.
    before = server.count()
    again = run_generate(con, plan, stage, rows, retry_base_s=FAST)
    assert (again.requests, again.kept_errors, again.already_ok) == (0, 2, 6)
    assert server.count() == before
    server.script("source text 3 ", Reply.ok("fixed three"))
    again = run_generate(con, plan, stage, rows, retry_errors=True, retry_base_s=FAST)
    assert (again.requests, again.ok, again.errors) == (2, 2, 0)
    assert server.count() == before + 2
    by_row = {c["row_id"]: c for c in calls(con, stage)}
    assert by_row[3]["status"] == "ok" and by_row[3]["answer"] == "fixed three"
    assert by_row[3]["error"] is None
    assert all(c["status"] == "ok" for c in by_row.values()) and len(by_row) == 8


@pytest.mark.parametrize("bad", [Reply.garbage(), Reply.no_choices(), Reply.null_content(),
                                 Reply.empty_content(), Reply.error(502)],
                         ids=["garbage", "no_choices", "null_content", "empty_content", "502"])
def test_malformed_answers_are_retried(server, con, bad):
    plan, stage = setup(server, retries=1)
    server.script("source text 1 ", bad, bad)  # fails past retries=1: error
    server.script("source text 2 ", bad)  # one failure: ok on the retry
    stats = run_generate(con, plan, stage, make_rows(3), retry_base_s=FAST)
    by_row = {c["row_id"]: c for c in calls(con, stage)}
    assert (by_row[0]["status"], by_row[0]["attempts"]) == ("ok", 1)
    assert (by_row[1]["status"], by_row[1]["attempts"]) == ("error", 2)
    assert (by_row[2]["status"], by_row[2]["attempts"]) == ("ok", 2)
    assert server.count("source text 1 ") == 2 and server.count("source text 2 ") == 2
    assert (stats.ok, stats.errors, stats.requests) == (2, 1, 5)


def test_retry_after_is_honoured(server, con):
    plan, stage = setup(server, concurrency=4)
    server.script("source text 0 ", Reply.rate_limited(retry_after=1.2))
    server.script("source text 1 ", Reply.rate_limited(retry_after=None, header="x"))
    stats = run_generate(con, plan, stage, make_rows(2), retry_base_s=FAST)
    assert (stats.ok, stats.errors) == (2, 0)
    first, second = server.requests("source text 0 ")
    assert 1.2 <= second.t - first.t < 2.5
    assert [c["attempts"] for c in calls(con, stage)] == [2, 2]


def test_rate_limit_pauses_every_request(server, con):
    plan, stage = setup(server, concurrency=1)
    server.script("source text 0 ", Reply.rate_limited(retry_after=0.8))
    run_generate(con, plan, stage, make_rows(3), retry_base_s=FAST)
    log = server.requests()
    # Row 0 was refused; nothing at all was sent in the next 0.8 s.
    assert log[1].t - log[0].t >= 0.8


def test_stall_beyond_timeout_is_retried(server, con):
    plan, stage = setup(server, timeout=0.5)
    server.script("source text 1 ", Reply.stall(3))
    stats = run_generate(con, plan, stage, make_rows(2), retry_base_s=FAST)
    assert (stats.ok, stats.errors) == (2, 0)
    first, second = server.requests("source text 1 ")
    assert 0.45 <= second.t - first.t < 2.0
    assert calls(con, stage)[1]["attempts"] == 2


def test_answers_are_cleaned_and_raw_kept(server, con):
    plan, stage = setup(server)
    raw = "<think>\nShorter, then.\n</think>\nHere is the rewritten text:\n\nA short text."
    server.script("source text 0 ", Reply.ok(raw))
    run_generate(con, plan, stage, make_rows(1))
    c = calls(con, stage)[0]
    assert c["raw_answer"] == raw and c["answer"] == "A short text."
    assert c["answer_hash"] == text_hash("A short text.")


def test_cot_answer_extracted(server, con):
    plan, stage = setup(server, iv=intervention("cot", prompt="cot", negative=True))
    raw = "## Edits\n\n- fewer words\n\n## Rewritten text\n\nFew words."
    server.default = Reply.ok(raw)
    run_generate(con, plan, stage, make_rows(1))
    c = calls(con, stage)[0]
    assert c["answer"] == "Few words." and c["prompt"].endswith("[your rewritten text]\n\n"
                                                                  "source text 0 about a quiet afternoon.")


def test_best_of_n_in_one_request(server, con):
    iv = intervention("best4", samples=4, sampling={"temperature": 1.0, "min_p": 0.2})
    plan, stage = setup(server, iv=iv, sampling={"temperature": 0.0, "max_tokens": 50})
    stats = run_generate(con, plan, stage, make_rows(5))
    assert (stats.total, stats.ok, stats.requests) == (20, 20, 5)
    got = calls(con, stage)
    assert [(c["row_id"], c["sample"]) for c in got] == [(r, s) for r in range(5) for s in range(4)]
    assert [c["answer"] for c in got[:4]] == [default_answer(got[0]["prompt"], i) for i in range(4)]
    body = server.requests()[0].body
    assert (body["n"], body["temperature"], body["min_p"], body["max_tokens"]) == (4, 1.0, 0.2, 50)
    # One request's usage is shared by its samples.
    total_pt = len(got[0]["prompt"].split())
    assert sum(c["prompt_tokens"] for c in got[:4]) == total_pt


def test_best_of_n_server_ignoring_n_gets_the_missing_ones(server, con):
    iv = intervention("best3", samples=3, sampling={"temperature": 1.0})
    plan, stage = setup(server, iv=iv, concurrency=1)
    server.default = Reply.ok(ignore_n=True)
    server.script("source text 1 ", Reply.error(500))  # a failure, retried
    stats = run_generate(con, plan, stage, make_rows(2), retry_base_s=FAST)
    assert (stats.ok, stats.errors, stats.requests) == (6, 0, 7)
    # The first answer shows that n is ignored: from then on, one sample per request.
    assert [r.n for r in server.requests("source text 0 ")] == [3, 1, 1]
    assert [r.n for r in server.requests("source text 1 ")] == [1, 1, 1, 1]
    seeds = [r.body["seed"] for r in server.requests("source text 0 ")]
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0] + 2  # sample s gets seed + s
    assert len(calls(con, stage)) == 6


def test_partly_honoured_n_gets_the_rest_one_by_one(server, con):
    iv = intervention("best3", samples=3, sampling={"temperature": 1.0})
    plan, stage = setup(server, iv=iv, concurrency=1)
    server.script("source text 0 ", Reply(n=2))  # 2 of 3
    stats = run_generate(con, plan, stage, make_rows(2), retry_base_s=FAST)
    assert (stats.ok, stats.errors) == (6, 0)
    assert [r.n for r in server.requests("source text 0 ")] == [3, 1]
    assert [r.n for r in server.requests("source text 1 ")] == [1, 1, 1]


def test_a_server_ignoring_n_is_remembered_per_endpoint(server, con):
    iv = intervention("best3", samples=3, sampling={"temperature": 1.0})
    plan, stage = setup(server, iv=iv, concurrency=1)
    server.default = Reply.ok(ignore_n=True)
    run_generate(con, plan, stage, make_rows(2), retry_base_s=FAST)
    assert con.execute("SELECT model_key, param, honoured FROM model_capabilities").fetchall() \
        == [(f"openai/fake @ {server.url}", "n", False)]

    # A later run, another intervention and another name for the same endpoint: one sample
    # per request from the start.
    server.clear()
    model = fake_model(server.url, name="same_endpoint")
    best2 = intervention("best2", samples=2, sampling={"temperature": 1.0})
    plan = make_plan([model], [best2])
    stats = run_generate(con, plan, plan.stage("generate:same_endpoint/best2"), make_rows(3),
                         retry_base_s=FAST)
    assert (stats.ok, stats.requests) == (6, 6)
    assert [r.n for r in server.requests()] == [1] * 6
    assert all("n" not in r.body for r in server.requests())

    # Another endpoint (another api_base) is not affected.
    with FakeOpenAI() as other:
        model = fake_model(other.url, name="other")
        plan = make_plan([model], [best2])
        stats = run_generate(con, plan, plan.stage("generate:other/best2"), make_rows(3),
                             retry_base_s=FAST)
        assert (stats.ok, stats.requests) == (6, 3)
        assert [r.n for r in other.requests()] == [2] * 3
    assert set(con.execute("SELECT model_key, honoured FROM model_capabilities").fetchall()) \
        == {(f"openai/fake @ {other.url}", True), (f"openai/fake @ {server.url}", False)}


def test_finish_reason_is_stored_for_every_call(server, con):
    iv = intervention("best2", samples=2, sampling={"temperature": 1.0})
    plan, stage = setup(server, iv=iv, retries=0)
    server.script("source text 1 ", Reply.truncated("cut off mid-sen"))
    server.script("source text 2 ", Reply.error(400))
    run_generate(con, plan, stage, make_rows(3), retry_base_s=FAST)
    got = con.execute("SELECT row_id, sample, status, finish_reason FROM calls "
                      "ORDER BY row_id, sample").fetchall()
    assert got == [(0, 0, "ok", "stop"), (0, 1, "ok", "stop"),
                   (1, 0, "ok", "length"), (1, 1, "ok", "length"),
                   (2, 0, "error", None), (2, 1, "error", None)]


def test_keys_never_stored(server, con, monkeypatch):
    secret = "sk-test-VERY-SECRET-0123456789"
    monkeypatch.setenv("STEER_TEST_KEY", secret)
    plan, stage = setup(server, api_key_env="STEER_TEST_KEY", retries=1)
    server.script("source text 1 ", Reply.error(500, echo_key=True), Reply.error(500, echo_key=True))
    stats = run_generate(con, plan, stage, make_rows(3), retry_base_s=FAST)
    assert (stats.ok, stats.errors) == (2, 1)
    assert {r.authorization for r in server.requests()} == {f"Bearer {secret}"}
    err = calls(con, stage)[1]["error"]
    assert "incorrect API key provided" in err and secret not in err and "***" in err
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
            assert secret not in repr(row), table


def test_refused_key_stops_with_a_clear_message(server, con, monkeypatch):
    secret = "sk-test-REFUSED-42"
    monkeypatch.setenv("STEER_TEST_KEY", secret)
    plan, stage = setup(server, api_key_env="STEER_TEST_KEY")
    server.default = Reply.error(401, echo_key=True)
    with pytest.raises(RunError) as e:
        run_generate(con, plan, stage, make_rows(3), retry_base_s=FAST)
    assert "refused the credentials" in str(e.value) and secret not in str(e.value)


def test_missing_key_variable(server, con, monkeypatch):
    monkeypatch.delenv("STEER_TEST_KEY", raising=False)
    plan, stage = setup(server, api_key_env="STEER_TEST_KEY")
    with pytest.raises(RunError, match="STEER_TEST_KEY"):
        run_generate(con, plan, stage, make_rows(1))
    assert server.count() == 0


def test_budget_stops_cleanly_and_resumes(server, con):
    # A priced model id: litellm's offline cost map knows gpt-4o-mini.
    plan, stage = setup(server, model="openai/gpt-4o-mini", concurrency=1)
    rows = make_rows(6)
    with pytest.raises(BudgetExceeded) as e:
        run_generate(con, plan, stage, rows, ledger=Ledger(1e-9))
    assert e.value.spent > 1e-9
    got = calls(con, stage)
    assert len(got) == 1 and got[0]["status"] == "ok" and got[0]["cost"] > 0
    assert server.count() == 1
    budget = Ledger(1.0, spent_usd=e.value.spent)
    stats = run_generate(con, plan, stage, rows, ledger=budget)
    assert (stats.already_ok, stats.ok) == (1, 5)
    assert server.count() == 6 and set(server.counts().values()) == {1}
    assert budget.spent == pytest.approx(sum(c["cost"] for c in calls(con, stage)))
    # An exhausted budget stops before any request.
    with pytest.raises(BudgetExceeded):
        run_generate(con, plan, stage, make_rows(2, start=6), ledger=Ledger(0.0))
    assert server.count() == 6


def test_rpm_pacing(server, con):
    plan, stage = setup(server, rpm=240, concurrency=8)  # 4 per second, 4 at once at most
    run_generate(con, plan, stage, make_rows(12))
    times = sorted(r.t for r in server.requests())
    # 12 requests: 4 at once, then 8 at 4/s (2 s); the first request's arrival may lag its
    # sending by a connection set-up on a loaded machine, so the span is checked loosely.
    assert times[-1] - times[0] >= 1.5
    # Never more than 4 + 4/s in any window.
    for i, t in enumerate(times):
        in_window = sum(1 for u in times[i:] if u - t < 1.0)
        assert in_window <= 8


def test_two_stages_in_one_process(server, con):
    model = fake_model(server.url)
    ivs = [intervention("direct"), intervention("neg", negative=True)]
    plan = make_plan([model], ivs)
    rows = make_rows(4)
    for iv in ivs:
        stats = run_generate(con, plan, plan.stage(f"generate:fake/{iv.name}"), rows)
        assert stats.ok == 4
    assert server.count() == 8
    assert con.execute("SELECT count(DISTINCT gen_hash) FROM calls").fetchone() == (2,)


def test_progress_object_like_the_runners(server, con):
    from steerdsl.progress import StageProgress

    plan, stage = setup(server, retries=0)
    server.script("source text 2 ", Reply.error(500))
    bar = StageProgress("generate")
    stats = run_generate(con, plan, stage, make_rows(5), progress=bar)
    assert (bar.done, bar.total, bar.errors) == (5, 5, 1)
    assert stats.failed == 1
    bar = StageProgress("generate")
    run_generate(con, plan, stage, make_rows(5), progress=bar)  # nothing to do
    assert (bar.done, bar.total) == (5, 5)


def test_tpm_pacing(server, con):
    # 100 tokens/s; each request is estimated at len(prompt)/4 + max_tokens, then charged
    # what the server reports (about 40 tokens here).
    plan, stage = setup(server, tpm=6000, concurrency=8, sampling={"max_tokens": 10})
    run_generate(con, plan, stage, make_rows(6))
    times = sorted(r.t for r in server.requests())
    used = con.execute("SELECT sum(prompt_tokens + completion_tokens) FROM calls").fetchone()[0]
    assert used > 200
    assert times[-1] - times[0] >= (used - 100 - 60) / 100  # a full bucket, then 100/s


def test_small_server_side_concurrency_limit_every_request_succeeds(con):
    """A healthy server that answers 2 requests at a time and refuses more with 429 +
    Retry-After 1; 8 requests in flight: concurrency adapts (AIMD) and the requests resume
    spread out, so none runs out of retries."""
    with FakeOpenAI(default=Reply.ok(delay=0.3), max_in_flight=2, retry_after=1) as server:
        plan, stage = setup(server, concurrency=8, retries=5)
        stats = run_generate(con, plan, stage, make_rows(24), retry_base_s=FAST)
        refused = sum(1 for r in server.requests() if r.reply == "429")
    assert (stats.ok, stats.errors) == (24, 0), calls(con, stage)
    assert stats.requests == 24 + refused
    # After the first refusals, concurrency drops to the server's limit: few 429s after.
    assert refused <= 24
