"""Pacing (token buckets, shared backoff) and error sorting, with real clocks and real litellm
exception types."""

from __future__ import annotations

import asyncio
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from steerdsl.llm import completion as llm
from steerdsl.llm.pacing import Pacer, TokenBucket, retry_pause
from steerdsl.plan.model import ModelPlan, SamplingParams


def run(coro):
    return asyncio.run(coro)


def test_bucket_spreads_requests():
    async def go():
        bucket = TokenBucket(600)  # 10 per second, holds one second's worth
        t = time.monotonic()
        for _ in range(10):
            await bucket.acquire(1)
        burst = time.monotonic() - t
        for _ in range(5):
            await bucket.acquire(1)
        return burst, time.monotonic() - t

    burst, total = run(go())
    assert burst < 0.1
    assert 0.45 <= total < 0.9  # five more at 10/s


def test_bucket_large_request_leaves_debt_and_adjust_refunds():
    async def go():
        bucket = TokenBucket(6000)  # 100 per second, capacity 100
        t = time.monotonic()
        await bucket.acquire(250)  # bigger than the bucket: goes when full, leaves debt
        first = time.monotonic() - t
        await bucket.acquire(50)  # waits for the debt of 150 plus 50: 2 s
        second = time.monotonic() - t
        bucket.adjust(+1000)  # refunds never exceed the capacity
        return first, second, bucket.tokens

    first, second, tokens = run(go())
    assert first < 0.05 and 1.9 <= second < 2.6 and tokens == pytest.approx(100)


def test_backoff_applies_to_every_request():
    async def go():
        pacer = Pacer()
        assert pacer.on_rate_limited(0.6) == 0.6
        t = time.monotonic()
        await asyncio.gather(*(pacer.turn(1) for _ in range(5)))
        return time.monotonic() - t, pacer

    waited, pacer = run(go())
    assert 0.6 <= waited < 1.0
    pacer.on_success()
    assert pacer.rate_limited == 0


def test_backoff_without_retry_after_grows():
    pacer = Pacer()
    pauses = [pacer.on_rate_limited(None) for _ in range(4)]
    assert 0.375 <= pauses[0] <= 0.625 and 3.0 <= pauses[3] <= 5.0
    assert Pacer().on_rate_limited(10_000) == Pacer.MAX_PAUSE_S
    assert all(0.05 <= retry_pause(1, 0.1) <= 0.15 for _ in range(20))
    assert retry_pause(20, 1.0) <= 45


def _rate_limit(headers: dict[str, str]):
    litellm = llm.litellm_module()
    response = httpx.Response(429, headers=headers,
                              request=httpx.Request("POST", "http://127.0.0.1/v1"))
    return litellm.RateLimitError("slow down", llm_provider="openai", model="x",
                                  response=response)


def test_retry_after_forms():
    assert llm.retry_after(_rate_limit({"retry-after": "7"})) == 7.0
    assert llm.retry_after(_rate_limit({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    got = llm.retry_after(_rate_limit({"retry-after": format_datetime(when, usegmt=True)}))
    assert 28 <= got <= 31
    assert llm.retry_after(_rate_limit({})) is None
    assert llm.retry_after(_rate_limit({"retry-after": "soon"})) is None


def test_classify_and_scrub():
    litellm = llm.litellm_module()
    failed = llm.classify(_rate_limit({"retry-after": "2"}), api_key=None)
    assert (failed.kind, failed.retry_after) == ("rate_limit", 2.0)
    secret = "sk-abc-123-SECRET"
    e = litellm.AuthenticationError(f"bad key {secret}", llm_provider="openai", model="x")
    failed = llm.classify(e, api_key=secret)
    assert failed.kind == "auth" and secret not in failed.message and "***" in failed.message
    e = litellm.BadRequestError("context too long", model="x", llm_provider="openai")
    assert llm.classify(e, None).kind == "fatal"
    e = litellm.APIConnectionError("refused", llm_provider="openai", model="x")
    assert llm.classify(e, None).kind == "connection"
    e = litellm.Timeout("slow", model="x", llm_provider="openai")
    assert llm.classify(e, None).kind == "timeout"
    e = litellm.ContextWindowExceededError("too long", model="x", llm_provider="openai")
    assert llm.classify(e, None).kind == "context"
    e = litellm.InternalServerError("boom", model="x", llm_provider="openai")
    assert llm.classify(e, None).kind == "server"


def test_sampling_params_intervention_overrides_model():
    model = ModelPlan(name="m", provider="litellm", model="openai/x",
                      sampling=SamplingParams(temperature=0.0, max_tokens=100, top_p=0.9))
    got = llm.sampling_params(model, SamplingParams(temperature=1.0, min_p=0.2))
    assert got == {"temperature": 1.0, "max_tokens": 100, "top_p": 0.9, "min_p": 0.2}


def test_concurrency_adapts_to_429s_aimd():
    pacer = Pacer(concurrency=8)
    assert pacer.limit == 8
    for _ in range(6):  # one burst of 429s: halved once
        pacer.on_rate_limited(1.0)
    assert pacer.limit == 4
    pacer.backoff_until = pacer._decreased_until = 0.0  # the pause is over
    pacer.on_rate_limited(1.0)
    assert pacer.limit == 2
    pacer.on_rate_limited(1.0)
    assert pacer.limit == 2  # still the same pause
    for _ in range(2):  # one limit's worth of answers: one more place
        pacer.on_success()
    assert pacer.limit == pytest.approx(2 + 1 / 2 + 1 / 2.5)
    for _ in range(200):
        pacer.on_success()
    assert pacer.limit == 8  # never above the model's concurrency
    pacer.backoff_until = pacer._decreased_until = 0.0
    for _ in range(10):
        pacer.on_rate_limited(0.0)
        pacer._decreased_until = 0.0
    assert pacer.limit == 1  # never below one


def test_slots_follow_the_limit_and_resumption_is_spread():
    async def go():
        pacer = Pacer(concurrency=4)
        pacer.limit = 2.0
        most = 0

        async def request(i):
            nonlocal most
            async with pacer.slot():
                most = max(most, pacer.in_flight)
                await asyncio.sleep(0.05)

        await asyncio.gather(*(request(i) for i in range(8)))
        pacer.on_rate_limited(1.0)
        t = time.monotonic()

        async def resume():
            await pacer.turn(1)
            return time.monotonic() - t

        return most, await asyncio.gather(*(resume() for _ in range(8)))

    most, resumed = run(go())
    assert most == 2
    assert all(1.0 <= r < 1.6 for r in resumed)
    assert max(resumed) - min(resumed) > 0.02  # not all at the same instant


def test_breaker_trips_on_failures_in_a_row_over_two_seconds():
    from steerdsl.llm.caller import Breaker

    b = Breaker(failures=5, span_s=2.0)
    for _ in range(8):  # a burst at one instant (a restart dropping kept-alive connections)
        b.on_connection_failure("refused")
    assert not b.tripped and b.consecutive == 8
    b.on_answer()  # the server answered: alive
    assert b.consecutive == 0
    for _ in range(4):
        b.on_connection_failure("refused")
    b.first_at -= 2.5  # the first of them 2.5 s ago
    assert not b.tripped  # four are not enough
    b.on_connection_failure("reset")
    assert b.tripped and b.last_error == "reset"
