"""Where chunks of measuring work run: a pool of worker processes on this machine (local.py)
or a pool of Ray actors on a cluster (ray.py).

An executor knows nothing of measures: it runs a module-level function over a list of jobs
and yields (job index, result) as jobs finish, each job exactly once. The caller
(steerdsl.goals.engine) turns results into values and the driver alone writes the store.
Nothing here imports Ray: `steerdsl.executors.ray` is imported only when a run asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol


class Executor(Protocol):
    # what `steerdsl run` prints and `runs.executor` records: "local (2 processes)"
    description: str
    workers: int  # jobs that run at once: how finely the caller cuts its work
    chunk_texts: int  # the most texts the caller puts in one job

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Sequence[Any], *,
                      prepare: Callable[[], bool | None] | None = None
                      ) -> Iterator[tuple[int, Any]]:
        """fn(job) for every job, yielding (index of the job, result) as each finishes.
        `prepare` is run in every worker process before its first job (loading spaCy); it
        returns True when it loaded something the process did not have."""
        ...

    def release(self) -> None:
        """Between stages: free what only measuring needs (a local pool's processes)."""
        ...

    def close(self) -> None: ...


def local_description(workers: int) -> str:
    return "local (1 process)" if workers <= 1 else f"local ({workers} processes)"
