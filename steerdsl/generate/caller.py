"""One logical request to a model: paced, retried, checked. Shared by the generate stage and
LLM-judged goals, so both honour the model's concurrency, rpm/tpm, retries and timeout."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, Callable

from steerdsl.errors import RunError
from steerdsl.generate import llm
from steerdsl.generate.pacing import Pacer, retry_pause
from steerdsl.plan.model import ModelPlan

DEFAULT_MAX_TOKENS_ESTIMATE = 512  # tpm estimate of an answer when max_tokens is not set


@dataclass
class Outcome:
    contents: list[str] = field(default_factory=list)  # raw answers, none blank
    finish_reasons: list[str | None] = field(default_factory=list)  # one per content
    completion: llm.Completion | None = None  # usage and cost of the successful request
    error: str | None = None  # the last failure, when the request was given up
    attempts: int = 0  # requests sent
    latency_s: float = 0.0  # of the last request


class Caller:
    """Sends requests for one model. A failed request (5xx, timeout, connection, malformed
    answer, 429) is retried up to the model's `retries` times; a 429 pauses every request of
    this caller (Pacer); a refused key raises RunError at once."""

    def __init__(self, model: ModelPlan, api_key: str | None, *, retry_base_s: float = 0.5,
                 stopped: Callable[[], bool] = lambda: False) -> None:
        self.model = model
        self.api_key = api_key
        self.pacer = Pacer(model.rpm, model.tpm)
        self.retry_base_s = retry_base_s
        self.stopped = stopped  # checked before each request (the budget ran out)
        self.requests = 0

    async def call(self, prompt: str, n: int, params: dict[str, Any]) -> Outcome | None:
        """None when `stopped` became true before a request could be sent."""
        model = self.model
        out = Outcome()
        failures = 0
        estimate = len(prompt) / 4 + (params.get("max_tokens") or DEFAULT_MAX_TOKENS_ESTIMATE) * n
        while True:
            await self.pacer.turn(estimate)
            if self.stopped():
                return None
            out.attempts += 1
            self.requests += 1
            sent = time.monotonic()
            try:
                completion = await self._with_deadline(
                    llm.complete(model, prompt, n, params, self.api_key))
                answered = [(c, r) for c, r in zip_longest(completion.contents,
                                                            completion.finish_reasons)
                            if c is not None]
                contents = [c for c, _ in answered]
                if not contents:
                    # litellm raises nothing for these: a provider hiccup, worth another try.
                    raise llm.CallFailed("retry", "malformed answer: no choices or empty content")
            except llm.CallFailed as e:
                out.latency_s = time.monotonic() - sent
                failures += 1
                if e.kind == "auth":
                    raise RunError(f"model {model.name}: the provider refused the credentials "
                                   f"({e.message})") from None
                if e.kind == "fatal" or failures > model.retries:
                    out.error = e.message
                    return out
                if e.kind == "rate_limit":
                    self.pacer.on_rate_limited(e.retry_after)  # the next turn() waits for all
                else:
                    await asyncio.sleep(retry_pause(failures, self.retry_base_s))
                continue
            out.latency_s = time.monotonic() - sent
            self.pacer.on_success()
            used = (completion.prompt_tokens or 0) + (completion.completion_tokens or 0)
            self.pacer.used_tokens(estimate,
                                   used if completion.prompt_tokens is not None else None)
            out.contents, out.completion = contents, completion
            out.finish_reasons = [r for _, r in answered]
            return out

    async def _with_deadline(self, call):
        """litellm enforces the timeout per network read; this bounds the whole request."""
        if self.model.provider == "local":
            # Generation runs in a thread that cancelling cannot reach: ask it to stop, so
            # Ctrl-C does not wait for whole answers (asyncio.run waits for its threads).
            try:
                return await call
            except asyncio.CancelledError:
                from steerdsl.generate.local import stop_generating

                stop_generating()
                raise
        try:
            async with asyncio.timeout(self.model.timeout * 1.5 + 5):  # no task, unlike wait_for
                return await call
        except TimeoutError:
            raise llm.CallFailed(
                "retry", f"timeout: no complete answer within {self.model.timeout:g}s") from None
