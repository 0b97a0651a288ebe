"""A fixed number of asyncio workers over a shared list of work, with a clock for the single
writer: how generation, the judge stage and judged goals send their requests (each item
goes to exactly one worker; a model's concurrency is the number of workers, its Caller paces
them)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def run_pool(items: Iterable[T], work: Callable[[T], Awaitable[None]], workers: int, *,
                   halted: Callable[[], bool] = lambda: False,
                   tick: Callable[[], None] | None = None, tick_s: float = 0.1) -> None:
    """Run `work(item)` for every item on `workers` tasks until done or `halted()`.

    tick: called every `tick_s` seconds in the loop's thread (flush a writer, report
    progress). If it raises, no new item starts; the error is raised once the items in
    flight are done. An error of a worker cancels the others and is raised."""
    pending = iter(items)
    tick_error: list[BaseException] = []

    async def worker() -> None:
        for item in pending:  # shared iterator: each item goes to exactly one worker
            if halted() or tick_error:
                return
            await work(item)

    async def clock() -> None:
        while True:
            await asyncio.sleep(tick_s)
            try:
                tick()
            except Exception as e:  # e.g. the store failed: stop asking, raise it after
                tick_error.append(e)
                return

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, workers))]
    ticker = asyncio.create_task(clock()) if tick is not None else None
    try:
        done, rest = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        for task in done:
            task.result()  # re-raise a worker's error (authentication)
        if tick_error:
            raise tick_error[0]
    finally:
        if ticker is not None:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
