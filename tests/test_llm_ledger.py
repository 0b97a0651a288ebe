"""The run-wide Ledger, and Callers charging it, against the loopback OpenAI-compatible server
(fake_openai) with a declared price."""

from __future__ import annotations

import asyncio

import pytest

from steerdsl.llm.budget import BudgetExceeded, Ledger
from steerdsl.llm.caller import Caller
from steerdsl.plan.model import Price
from steerdsl.prices import declared_cost
from support.fake_openai import FakeOpenAI, Reply, default_answer
from support.gen_plans import fake_model

PRICE = Price(input_per_mtok=10_000, output_per_mtok=20_000)  # a cent per prompt word


def request_cost(prompt: str) -> float:
    """What the server's default answer to `prompt` costs at PRICE (its usage counts words)."""
    return declared_cost(PRICE.input_per_mtok, PRICE.output_per_mtok, len(prompt.split()),
                         len(default_answer(prompt, 0).split()))


def ask(caller: Caller, prompts: list[str]) -> list:
    async def run():
        return [await caller.call(p, 1, {}) for p in prompts]  # one after another

    return asyncio.run(run())


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


def test_ledger_without_a_limit_counts_and_never_runs_out():
    ledger = Ledger()
    for cost in (None, 0, 0.25, 0.5):
        ledger.charge(cost)
    assert ledger.spent == 0.75 and ledger.limit is None and not ledger.exhausted
    with pytest.raises(ValueError):
        ledger.exceeded()


def test_ledger_with_a_limit():
    ledger = Ledger(1.0, spent_usd=0.5)
    ledger.charge(0.25)
    assert not ledger.exhausted
    ledger.charge(0.5)
    assert ledger.exhausted and ledger.spent == 1.25
    e = ledger.exceeded()
    assert isinstance(e, BudgetExceeded) and (e.spent, e.limit) == (1.25, 1.0)
    assert str(e) == ("budget $1.00 reached: spent $1.25, $0.2500 over because of requests "
                      "already in flight; answers so far are stored: raise the budget and "
                      "rerun to continue")
    assert Ledger(0.0).exhausted


def test_callers_charge_one_shared_ledger(server):
    ledger = Ledger()
    a = Caller(fake_model(server.url, name="a", price=PRICE), None, ledger=ledger)
    b = Caller(fake_model(server.url, name="b", price=PRICE), None, ledger=ledger)
    outs = ask(a, ["one two", "three"]) + ask(b, ["four five six"])
    assert all(o.completion.cost > 0 for o in outs)
    assert ledger.spent == pytest.approx(sum(request_cost(r.prompt) for r in server.requests()))
    assert ledger.spent == pytest.approx(sum(o.completion.cost for o in outs))
    assert a.ledger is b.ledger is ledger


def test_a_caller_without_a_ledger_keeps_its_own(server):
    caller = Caller(fake_model(server.url, price=PRICE), None)
    ask(caller, ["one two"])
    assert caller.ledger.limit is None
    assert caller.ledger.spent == pytest.approx(request_cost("one two"))


def test_failed_requests_cost_nothing(server):
    server.default = Reply.error(400)
    ledger = Ledger(1.0)
    out = ask(Caller(fake_model(server.url, price=PRICE), None, ledger=ledger), ["x"])[0]
    assert out.error is not None and ledger.spent == 0


def test_no_request_starts_once_the_ledger_is_exhausted(server):
    one = request_cost("alpha beta")
    ledger = Ledger(limit_usd=1.5 * one)  # exhausted by the second answer
    caller = Caller(fake_model(server.url, price=PRICE), None, ledger=ledger)
    outs = ask(caller, ["alpha beta"] * 5)
    assert [o is not None for o in outs] == [True, True, False, False, False]
    assert server.count() == 2 and caller.requests == 2
    assert caller.halted and ledger.exhausted and ledger.spent == pytest.approx(2 * one)


def test_an_exhausted_ledger_sends_nothing_even_when_paced(server):
    """No wait for an rpm turn either: thousands of calls left after the budget ran out
    return at once."""
    ledger = Ledger(limit_usd=1.0, spent_usd=1.0)
    caller = Caller(fake_model(server.url, price=PRICE, rpm=1), None, ledger=ledger)
    assert ask(caller, ["x"] * 50) == [None] * 50
    assert server.count() == 0 and caller.requests == 0
