"""Budgets that bind for any endpoint: a model block declares its price, `check` and `run` name
the models whose calls would count as $0, and a stopped run says by how much requests in
flight overshot, once. Real `steerdsl` subprocesses against the loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import steerdsl
from steerdsl.llm.budget import BudgetExceeded, usd
from steerdsl.lang.diagnostics import SpecError
from support.fake_openai import FakeOpenAI

SPEC = """\
experiment priced {{
  seed 5
  store "priced.duckdb"{budget}
}}
corpus c {{ read "corpus.jsonl" text "text" }}
goals {{ length = char_count normalize 0..400 }}
probe p from c {{ sources 6 unweighted  requests 1 per source  active 1 }}
model fake {{
  litellm "openai/fake"
  api_base "{url}"
  concurrency {concurrency}{price}
}}
intervention direct {{ prompt direct }}
evaluate {{ probe p  models fake  interventions direct }}
"""

UNPRICED_AT_START = ("budget {limit}: model fake has no known price; its calls count as $0. "
                     "Declare `price in X out Y` (US dollars per million input and output "
                     "tokens) in its model block")


def write_spec(folder: Path, url: str = "http://127.0.0.1:9/v1", budget: str | None = None,
               price: str | None = None, concurrency: int = 1) -> Path:
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for i in range(6):
            f.write(json.dumps({"text": f"Note {i}. The committee met on a rainy day."}) + "\n")
    spec = folder / "priced.steer"
    spec.write_text(SPEC.format(
        url=url, concurrency=concurrency,
        budget=f"\n  budget {budget}" if budget else "",
        price=f"\n  {price}" if price else ""), encoding="utf-8")
    return spec


def steerdsl_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "steerdsl.cli", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})


def stored_calls(folder: Path) -> list[tuple]:
    con = duckdb.connect(str(folder / "priced.duckdb"), read_only=True)
    try:
        return con.execute("SELECT prompt_tokens, completion_tokens, cost FROM calls "
                           "WHERE status = 'ok' ORDER BY row_id").fetchall()
    finally:
        con.close()


# --- the language -------------------------------------------------------------------------


def test_a_declared_price_is_in_the_plan_and_in_no_hash(tmp_path):
    plain = steerdsl.load(write_spec(tmp_path)).plan()
    priced = steerdsl.load(write_spec(tmp_path, price="price in 0.15 out 0.60")).plan()
    assert plain.model("fake").price is None
    assert priced.model("fake").price.model_dump() == {"input_per_mtok": 0.15,
                                                       "output_per_mtok": 0.6}
    # A price changes what answers cost, never the answers: no stage is redone.
    assert [s.hash for s in priced.stages] == [s.hash for s in plain.stages]
    assert priced.spec_hash == plain.spec_hash


def test_price_values_are_checked_where_they_are_written(tmp_path):
    spec = write_spec(tmp_path, price="price in -1 out 2%\n  price in 1 out 1")
    with pytest.raises(SpecError) as info:
        steerdsl.load(spec)
    assert [f"{d.span.line}:{d.span.col}: {d.text}" for d in info.value.diagnostics] == [
        "12:12: the input price must be at least 0, got -1",
        "12:19: the output price takes a plain number, not a percentage; did you mean '0.02'?",
        "13:3: 'price' is set twice in model fake (first at line 12)",
    ]


def test_check_warns_with_its_place_about_a_model_without_a_price(tmp_path):
    spec = write_spec(tmp_path, budget="5")
    r = steerdsl_cli("check", str(spec))
    assert r.returncode == 0
    assert r.stderr.splitlines() == [
        f"{spec}:10:11: warning: model 'fake' has no known price (litellm has none for "
        "'openai/fake'): under the budget its calls count as $0; declare one in its model "
        "block: price in X out Y (US dollars per million input and output tokens)",
        '    litellm "openai/fake"',
        "            ^^^^^^^^^^^^^",
    ]
    assert r.stdout == f"ok: {spec}: 1 goal, 1 corpus, 1 probe, 1 model, 1 intervention\n"


@pytest.mark.parametrize("change", [
    {"budget": None},  # no budget, nothing to bind
    {"budget": "5", "price": "price in 0 out 0"},  # declared (free is a price)
    {"budget": "5", "model": 'litellm "openai/gpt-4.1-nano"'},  # litellm's table knows it
    {"budget": "5", "model": 'local "smollm2"'},  # the built-in model is free
], ids=["no-budget", "declared", "litellm-knows", "local"])
def test_check_is_silent_when_every_call_has_a_price(tmp_path, change):
    spec = write_spec(tmp_path, budget=change["budget"], price=change.get("price"))
    if "model" in change:
        text = spec.read_text().replace('litellm "openai/fake"', change["model"])
        spec.write_text(text.replace('  api_base "http://127.0.0.1:9/v1"\n', ""))
    assert steerdsl.load(spec).warnings == []


def test_the_price_check_reads_litellms_table_without_importing_litellm(tmp_path):
    spec = write_spec(tmp_path, budget="5")
    code = ("import sys, steerdsl\n"
            f"w = steerdsl.load({str(spec)!r}).warnings\n"
            "print(len(w), 'litellm' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.stdout == "1 False\n", r.stderr


# --- the run ------------------------------------------------------------------------------


def test_a_declared_price_costs_tokens_times_price(tmp_path):
    with FakeOpenAI() as server:
        spec = write_spec(tmp_path, url=server.url, budget="5",
                          price="price in 0.15 out 0.60", concurrency=2)
        r = steerdsl_cli("run", str(spec), "-q")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # the price is known: nothing to warn about
    got = stored_calls(tmp_path)
    assert len(got) == 6
    for prompt_tokens, completion_tokens, cost in got:
        assert prompt_tokens > 0 and completion_tokens > 0
        assert cost == (prompt_tokens * 0.15 + completion_tokens * 0.60) / 1_000_000


def test_the_budget_stops_a_declared_price_run_and_says_the_overshoot_once(tmp_path):
    # 100 USD per million tokens, about 40 tokens a call: 3 calls pass 0.01 USD.
    with FakeOpenAI() as server:
        spec = write_spec(tmp_path, url=server.url, budget="0.01",
                          price="price in 100 out 100")
        r = steerdsl_cli("run", str(spec))
        got = stored_calls(tmp_path)
        assert server.count() == len(got) < 6
    assert r.returncode == 1
    spent = sum(cost for _, _, cost in got)
    before_last = spent - got[-1][2]
    assert before_last < 0.01 < spent  # stopped by the call that crossed the limit
    message = (f"budget $0.0100 reached: spent {usd(spent)}, {usd(spent - 0.01)} over because "
               "of requests already in flight; answers so far are stored: raise the budget "
               "and rerun to continue")
    assert r.stderr.splitlines()[-1] == message
    assert r.stderr.count("reached") == r.stderr.count("rerun") == 1, r.stderr


def test_run_names_a_model_without_a_price_at_the_start(tmp_path):
    with FakeOpenAI() as server:
        spec = write_spec(tmp_path, url=server.url, budget="5")
        r = steerdsl_cli("run", str(spec), "-q")  # a warning is not progress: -q shows it
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [UNPRICED_AT_START.format(limit="$5.00")]
    assert [cost for _, _, cost in stored_calls(tmp_path)] == [None] * 6


def test_budget_amounts_and_the_overshoot_message():
    assert [usd(x) for x in (5, 1.5, 0.01, 0.0123, 0, 0.000023)] == [
        "$5.00", "$1.50", "$0.0100", "$0.0123", "$0.0000", "$2.3e-05"]
    assert str(BudgetExceeded(0.0123, 0.01)) == (
        "budget $0.0100 reached: spent $0.0123, $0.0023 over because of requests already "
        "in flight; answers so far are stored: raise the budget and rerun to continue")
    assert str(BudgetExceeded(0.01, 0.01)) == (
        "budget $0.0100 reached: spent $0.0100; answers so far are stored: raise the budget "
        "and rerun to continue")
