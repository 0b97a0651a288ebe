"""The Ray executor: a pool of Ray actors, one per CPU of the cluster, each a long-lived
process that loads spaCy once and measures chunks of texts sent to it.

Only texts go out and values come back: the store, API keys and model calls stay with the
driver (`steerdsl run`), which alone writes the store. An actor that dies (its process
killed, its node lost) loses only the chunks it held: they are sent again to a new actor,
so every job's result is yielded exactly once.

Every node needs the same steerdsl, spaCy pipeline and library versions as the driver (values
must be identical bit for bit): install steerdsl on each node of the cluster.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from steerdsl.errors import RunError, UsageError
from steerdsl.lang.rules import ray_address_problem

INSTALL = 'pip install "steerdsl[ray]"'
# Jobs sent to an actor beyond the one it runs: the next chunk is there when it finishes.
QUEUED_PER_ACTOR = 1
# A chunk whose actors keep dying (a text that takes a worker down) fails the stage.
MAX_ATTEMPTS = 4
CONNECT_TIMEOUT_S = 5.0


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("measuring on a Ray cluster (--ray, `executor ray`) needs Ray, which "
                         f"is not installed: {INSTALL}") from None
    return ray


class _Worker:
    """The actor: runs jobs in its own process; what `prepare` loads stays loaded (prepare
    functions load once, so calling one again costs nothing)."""

    def pid(self) -> int:
        return os.getpid()

    def run(self, fn: Callable[[Any], Any], job: Any,
            prepare: Callable[[], bool | None] | None):
        if prepare is not None:
            prepare()
        return fn(job)


class RayExecutor:
    chunk_texts = 64  # larger chunks than on one machine: each is a round trip

    def __init__(self, address: str, *, actors: int | None = None) -> None:
        self._ray = ray = import_ray()
        self.address = address
        _check_reachable(address)
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False,
                     configure_logging=True)
        except Exception as e:  # Ray's own message says why (no cluster, no ray[client], ...)
            raise RunError(f"could not connect to the Ray cluster at {address}: "
                           f"{str(e) or type(e).__name__}") from None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, actors or cpus)
        self._remote = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self.actors = [self._remote.remote() for _ in range(self.workers)]
        self.description = f"ray {address} ({self.workers} actors)"

    def pids(self) -> list[int]:
        """The process id of each actor (tests kill one)."""
        return self._ray.get([a.pid.remote() for a in self.actors])

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Sequence[Any], *,
                      prepare: Callable[[], bool | None] | None = None
                      ) -> Iterator[tuple[int, Any]]:
        ray = self._ray
        from ray.exceptions import ObjectLostError, RayActorError

        todo = deque(range(len(jobs)))
        attempts = [0] * len(jobs)
        running: dict[Any, tuple[int, int, Any]] = {}  # ref -> (job, actor slot, actor)
        load = [0] * len(self.actors)
        while todo or running:
            for slot in range(len(self.actors)):
                while todo and load[slot] <= QUEUED_PER_ACTOR:
                    i = todo.popleft()
                    attempts[i] += 1
                    actor = self.actors[slot]
                    running[actor.run.remote(fn, jobs[i], prepare)] = (i, slot, actor)
                    load[slot] += 1
            (ref,), _ = ray.wait(list(running), num_returns=1)
            i, slot, actor = running.pop(ref)
            load[slot] -= 1
            try:
                result = ray.get(ref)
            except (RayActorError, ObjectLostError) as e:
                if attempts[i] >= MAX_ATTEMPTS:
                    raise RunError(f"a chunk of {_size(jobs[i])} was lost {attempts[i]} times "
                                   f"on the Ray cluster (its workers died: out of memory?): "
                                   f"{type(e).__name__}") from None
                todo.appendleft(i)
                if self.actors[slot] is actor:  # not replaced yet (it held other chunks)
                    self._replace(slot)
                continue
            yield i, result

    def _replace(self, slot: int) -> None:
        try:
            self._ray.kill(self.actors[slot], no_restart=True)
        except Exception:  # already gone
            pass
        self.actors[slot] = self._remote.remote()

    def release(self) -> None:
        pass  # the actors (other machines' processes, spaCy loaded) serve the whole run

    def close(self) -> None:
        for actor in self.actors:
            try:
                self._ray.kill(actor, no_restart=True)
            except Exception:
                pass
        self.actors = []
        self._ray.shutdown()


def _size(job: Any) -> str:
    texts = job[0] if isinstance(job, tuple) and job else job
    return f"{len(texts)} texts" if isinstance(texts, list) else "work"


def _check_reachable(address: str) -> None:
    """A HOST:PORT that does not answer is said at once (Ray itself retries for a minute)."""
    problem = ray_address_problem(address)
    if problem:
        raise UsageError(problem)
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise RunError(f"could not reach the Ray cluster at {address}: {e.strerror or e}; "
                       "start one with `ray start --head`, or check the address") from None
