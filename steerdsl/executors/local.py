"""The local executor: a pool of forked worker processes on this machine.

Workers are fed as they finish (a bounded window of jobs in flight, not a lockstep map), so
every core stays busy to the end whatever the jobs' lengths; results come back to the caller
in the order they finish. The pool outlives one map: a stage measuring chunk after chunk
(score: 5,000 answers at a time) forks its workers once, not once per chunk, so they keep what
they loaded and the pages they already copied; `release` (between stages) ends them.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from steerdsl.errors import RunError
from steerdsl.executors import local_description

# Jobs queued per worker beyond the one it runs: a worker finishing never waits for the
# driver, and the driver never holds more than a few jobs' results.
QUEUED_PER_WORKER = 2


class LocalPool:
    chunk_texts = 32  # small chunks keep every core busy to the end

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.description = local_description(self.workers)
        self._pool: ProcessPoolExecutor | None = None

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Sequence[Any], *,
                      prepare: Callable[[], bool | None] | None = None
                      ) -> Iterator[tuple[int, Any]]:
        loaded = prepare() if prepare is not None else False
        if self.workers <= 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                yield i, fn(job)
            return
        if loaded:  # workers forked before it was loaded would each load their own copy
            self.release()
        pool = self._pool or self._fork()
        running: dict[Future, int] = {}
        try:
            yield from _as_finished(pool, fn, jobs, self.workers * (1 + QUEUED_PER_WORKER),
                                    running)
        except BrokenProcessPool:
            self.release()
            raise RunError("a measuring process died (out of memory?); rerun with "
                           "fewer workers, or drop very long texts") from None
        finally:
            for future in running:  # the caller stopped early (Ctrl-C, an error)
                future.cancel()

    def _fork(self) -> ProcessPoolExecutor:
        # Fork after `prepare` ran here (spaCy, the syllable dictionary loaded): every worker
        # starts with them in memory, and no process re-imports the caller's main module
        # (spawn and forkserver would, which breaks scripts without a __main__ guard). The
        # workers never touch DuckDB, so forking a process with DuckDB threads is safe.
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_quiet_worker)
        # Objects the workers inherit stay out of their garbage collector's way: its passes
        # would write to every inherited object, copying the parent's memory page by page.
        # (A fork-context pool starts all its workers at its first job.)
        _return_free_memory()
        gc.freeze()
        try:
            pool.submit(int).result()
        except BrokenProcessPool:
            raise RunError("could not start the measuring processes (out of memory?)") from None
        finally:
            gc.unfreeze()
        self._pool = pool
        return pool

    def release(self) -> None:
        """End the workers (they start again, forked anew, at the next map)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self.release()


def _as_finished(pool: ProcessPoolExecutor, fn, jobs: Sequence[Any], window: int,
                 running: dict[Future, int]) -> Iterator[tuple[int, Any]]:
    next_job = 0
    while next_job < len(jobs) or running:
        while next_job < len(jobs) and len(running) < window:
            running[pool.submit(fn, jobs[next_job])] = next_job
            next_job += 1
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in sorted(finished, key=running.__getitem__):
            yield running.pop(future), future.result()


def _return_free_memory() -> None:
    """Give the free pages of the heap back to the system before forking (glibc's
    malloc_trim): a worker allocating where the driver freed memory (after a generate stage:
    many scattered free chunks) then gets fresh pages instead of copying the driver's."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _quiet_worker() -> None:
    # A forked worker must not write to stderr: its lock may have been held by another
    # thread of the parent (a progress bar) at fork time. Warnings are the parent's business.
    import warnings

    warnings.simplefilter("ignore")
