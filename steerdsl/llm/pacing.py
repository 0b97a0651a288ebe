"""Pacing requests to one model: rpm / tpm token buckets and a shared backoff after 429s."""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator


class TokenBucket:
    """`per_minute` units per minute, refilled continuously, holding at most one second's worth
    (so requests are spread evenly instead of bursting a minute's budget at once). A request
    larger than the bucket waits for a full bucket and leaves it in debt."""

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise ValueError("rate must be positive")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()  # first come, first served

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, amount: float) -> float:
        """Take `amount`; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            need = min(amount, self.capacity)
            while True:
                self._refill()
                if self.tokens >= need:
                    self.tokens -= amount
                    return waited
                pause = (need - self.tokens) / self.rate
                waited += pause
                await asyncio.sleep(pause)

    def adjust(self, amount: float) -> None:
        """Give back (positive) or take (negative) units once the real use is known."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens + amount)


class Pacer:
    """Shared by every request of one model in one stage.

    After a 429 every request waits until the provider's Retry-After has passed (or an
    exponential pause with jitter when it gave none), each a little longer at random so they
    do not all resume at once: the rate drops for everyone instead of each request hammering
    on its own. Requests in flight are limited (`slot`) by a limit that adapts to 429s, like
    TCP's congestion window (AIMD): halved on a 429 (once per pause), and grown by one per
    limit's worth of answers, up to the model's `concurrency`. A server that takes fewer
    requests at once than configured is then sent about as many as it takes.
    """

    MAX_PAUSE_S = 300.0
    MAX_SPREAD_S = 5.0  # resumption after a pause is spread over a quarter of it, at most this

    def __init__(self, rpm: int | None = None, tpm: int | None = None,
                 concurrency: int | None = None) -> None:
        self.rpm = TokenBucket(rpm) if rpm else None
        self.tpm = TokenBucket(tpm) if tpm else None
        self.backoff_until = 0.0
        self.spread = 0.0
        self.rate_limited = 0  # consecutive 429s
        self.status = ""  # why requests wait, for progress displays
        self.max_limit = float(concurrency) if concurrency else None
        self.limit = self.max_limit  # requests in flight at most, None: no limit
        self.in_flight = 0
        self._decreased_until = 0.0
        self._slots = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the `limit` places of requests in flight while a request is sent."""
        async with self._slots:
            await self._slots.wait_for(
                lambda: self.limit is None or self.in_flight < int(self.limit))
            self.in_flight += 1
        try:
            yield
        finally:
            async with self._slots:
                self.in_flight -= 1
                self._slots.notify_all()

    async def turn(self, tokens: float) -> None:
        """Wait until a request estimated at `tokens` may be sent."""
        while True:
            pause = self.backoff_until - time.monotonic()
            if pause > 0:
                self.status = f"backing off after rate limit ({pause:.0f}s)"
                await asyncio.sleep(pause + random.uniform(0.0, self.spread))
                continue
            waited = 0.0
            if self.rpm:
                waited += await self.rpm.acquire(1)
            if self.tpm:
                waited += await self.tpm.acquire(tokens)
            if waited > 0.05:
                self.status = "pacing (rpm/tpm limit)"
            if self.backoff_until <= time.monotonic():
                if waited <= 0.05 and self.status:
                    self.status = ""
                return

    def used_tokens(self, estimated: float, actual: float | None) -> None:
        if self.tpm and actual is not None:
            self.tpm.adjust(estimated - actual)

    def on_rate_limited(self, retry_after: float | None) -> float:
        """Record a 429; returns the pause imposed on every request."""
        self.rate_limited += 1
        if retry_after is None:
            pause = min(60.0, 0.5 * 2 ** (self.rate_limited - 1)) * random.uniform(0.75, 1.25)
        else:
            pause = retry_after
        pause = min(max(pause, 0.0), self.MAX_PAUSE_S)
        now = time.monotonic()
        self.backoff_until = max(self.backoff_until, now + pause)
        self.spread = min(self.MAX_SPREAD_S, 0.25 * pause)
        self.status = f"backing off after rate limit ({pause:.0f}s)"
        if self.limit is not None and now >= self._decreased_until:
            # The 429s of one burst arrive together: halve once for all of them.
            self.limit = max(1.0, self.limit / 2)
            self._decreased_until = self.backoff_until
        return pause

    def on_success(self) -> None:
        self.rate_limited = 0
        if self.limit is not None and self.max_limit is not None:
            self.limit = min(self.max_limit, self.limit + 1.0 / self.limit)


def retry_pause(failures: int, base: float, cap: float | None = None) -> float:
    """Exponential pause with jitter before retrying a failed (5xx, timeout, malformed,
    connection) request; at most 30 s, or `cap`."""
    return min(cap or 30.0, base * 2 ** (failures - 1)) * random.uniform(0.5, 1.5)
