"""One logical request to a model: paced, retried, checked, charged. Shared by the generate
stage and LLM-judged goals, so both honour the model's concurrency, rpm/tpm, retries and
timeout, and the run's budget (one Ledger for all of them)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, Callable

from steerdsl.errors import RunError
from steerdsl.llm import completion as llm
from steerdsl.llm.budget import Ledger
from steerdsl.llm.inprocess import stop_generating
from steerdsl.llm.keys import deployment_keys
from steerdsl.llm.pacing import Pacer, retry_pause
from steerdsl.plan.model import ModelPlan

DEFAULT_MAX_TOKENS_ESTIMATE = 512  # tpm estimate of an answer when max_tokens is not set
# A refused connection fails in milliseconds: pause briefly between such retries, and give a
# model up (Breaker) once this many requests in a row failed to connect over at least this
# many seconds (so a server restart that drops every kept-alive connection at once is not
# mistaken for a dead server).
CONNECTION_PAUSE_MAX_S = 2.0
BREAKER_FAILURES = 5
BREAKER_SPAN_S = 2.0


@dataclass
class Outcome:
    contents: list[str] = field(default_factory=list)  # raw answers, none blank
    finish_reasons: list[str | None] = field(default_factory=list)  # one per content
    completion: llm.Completion | None = None  # usage and cost of the successful request
    error: str | None = None  # the last failure, when the request was given up
    error_kind: str | None = None  # its llm.CallFailed kind
    attempts: int = 0  # requests sent
    latency_s: float = 0.0  # of the last request


class Breaker:
    """Counts consecutive connection failures (refused, reset, DNS, TLS) across the requests
    to one model; any answer from the server, even an error, resets it. Once tripped, no more
    requests are sent: a dead server must not be hammered for the rest of the run."""

    def __init__(self, failures: int = BREAKER_FAILURES, span_s: float = BREAKER_SPAN_S) -> None:
        self.failures = failures
        self.span_s = span_s
        self.consecutive = 0
        self.first_at = 0.0
        self.last_error = ""
        self.tripped = False

    def on_connection_failure(self, message: str) -> None:
        now = time.monotonic()
        if self.consecutive == 0:
            self.first_at = now
        self.consecutive += 1
        self.last_error = message
        if self.consecutive >= self.failures and now - self.first_at >= self.span_s:
            self.tripped = True

    def on_answer(self) -> None:
        self.consecutive = 0


class Caller:
    """Sends requests for one model. A failed request (5xx, timeout, connection, malformed
    answer, 429) is retried up to the model's `retries` times; a 429 pauses every request of
    this caller (Pacer); a refused key raises RunError at once; connection failures trip the
    Breaker, after which every call returns None without sending anything.

    Every answered request's cost is charged to `ledger` (the run's, shared by all callers;
    without one, a ledger of this caller's own without a limit). Once the ledger is exhausted
    no request starts: `call` returns None, and `ledger.exhausted` tells why."""

    def __init__(self, model: ModelPlan, api_key: str | None, *, ledger: Ledger | None = None,
                 retry_base_s: float = 0.5,
                 stopped: Callable[[], bool] = lambda: False) -> None:
        self.model = model
        self.api_key = api_key
        self.ledger = ledger if ledger is not None else Ledger()
        self.pacer = Pacer(model.rpm, model.tpm, model.concurrency)
        self.retry_base_s = retry_base_s
        self.stopped = stopped  # checked before each request (e.g. the store failed)
        self.breaker = Breaker()
        self.requests = 0
        self.timeouts = 0  # requests that timed out
        self.deployment_keys = deployment_keys(model)  # by api_base; empty: no deployments

    async def call(self, prompt: str | llm.Messages, n: int,
                   params: dict[str, Any]) -> Outcome | None:
        """`prompt`: one user message, or a conversation. None when `stopped` became true, the ledger was exhausted, or the breaker tripped,
        before the request got an answer."""
        model = self.model
        out = Outcome()
        failures = 0
        chars = sum(len(m["content"]) for m in llm.as_messages(prompt))
        estimate = chars / 4 + (params.get("max_tokens") or DEFAULT_MAX_TOKENS_ESTIMATE) * n
        while True:
            if self.halted:  # before waiting for a turn, which may take long (rpm/tpm)
                return None
            await self.pacer.turn(estimate)
            async with self.pacer.slot():
                if self.pacer.backoff_until > time.monotonic():
                    continue  # a 429 came while this one waited for a place: wait again
                if self.halted:
                    return None
                out.attempts += 1
                self.requests += 1
                sent = time.monotonic()
                try:
                    completion, failed = await self._attempt(prompt, n, params), None
                except llm.CallFailed as e:
                    failed = e
            out.latency_s = time.monotonic() - sent
            if failed is None:
                break
            failures += 1
            if failed.kind == "auth":
                raise RunError(f"model {model.name}: the provider refused the credentials "
                               f"({failed.message})") from None
            if failed.kind == "connection":
                self.breaker.on_connection_failure(failed.message)
                if self.breaker.tripped:
                    return None
            else:
                self.breaker.on_answer()
            if failed.kind == "timeout":
                self.timeouts += 1
            if not failed.retryable or failures > model.retries:
                out.error, out.error_kind = failed.message, failed.kind
                return out
            if failed.kind == "rate_limit" and failed.deployment is None:
                # (one deployment's 429 only cools that one down: the Router skips it)
                self.pacer.on_rate_limited(failed.retry_after)  # the next turn() waits for all
            else:
                cap = CONNECTION_PAUSE_MAX_S if failed.kind == "connection" else None
                await asyncio.sleep(retry_pause(failures, self.retry_base_s, cap))
        self.breaker.on_answer()
        self.pacer.on_success()
        self.ledger.charge(completion.cost)
        used = (completion.prompt_tokens or 0) + (completion.completion_tokens or 0)
        self.pacer.used_tokens(estimate, used if completion.prompt_tokens is not None else None)
        answered = [(c, r) for c, r in zip_longest(completion.contents, completion.finish_reasons)
                    if c is not None]
        out.contents = [c for c, _ in answered]
        out.finish_reasons = [r for _, r in answered]
        out.completion = completion
        return out

    @property
    def halted(self) -> bool:
        """No request may start: stopped, the ledger exhausted, or the breaker tripped."""
        return self.stopped() or self.ledger.exhausted or self.breaker.tripped

    async def _attempt(self, prompt: str | llm.Messages, n: int, params: dict[str, Any]) -> llm.Completion:
        """One request; llm.CallFailed also for an answer without content."""
        completion = await self._with_deadline(
            llm.complete(self.model, prompt, n, params, self.api_key, self.deployment_keys))
        if all(c is None for c in completion.contents):
            # litellm raises nothing for these: a provider hiccup, worth another try.
            raise llm.CallFailed("malformed", "malformed answer: no choices or empty content")
        return completion

    async def _with_deadline(self, call):
        """litellm enforces the timeout per network read; this bounds the whole request."""
        if self.model.provider in llm.IN_PROCESS:
            # Generation runs in a thread that cancelling cannot reach: ask it to stop, so
            # Ctrl-C does not wait for whole answers (asyncio.run waits for its threads).
            try:
                return await call
            except asyncio.CancelledError:
                stop_generating()
                raise
        try:
            async with asyncio.timeout(self.model.timeout * 1.5 + 5):  # no task, unlike wait_for
                return await call
        except TimeoutError:
            raise llm.CallFailed(
                "timeout", f"timeout: no complete answer within {self.model.timeout:g}s") from None
