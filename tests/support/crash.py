"""Crash tests' moves: `steerdsl run` in its own process, kill -9 at a chosen moment, and
what the killed run left in its store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from steerdsl.store.db import open_store


def steerdsl_run(spec: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`steerdsl run SPEC -q` in its own process (with `env`: that environment)."""
    return subprocess.Popen([sys.executable, "-m", "steerdsl.cli", "run", str(spec), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def kill_9_when(proc: subprocess.Popen, ready: Callable[[], bool], wait_s: float = 0.0,
                deadline_s: float = 300.0) -> float:
    """kill -9 `proc` `wait_s` seconds after `ready()` first holds (the process must still be
    running until then, and `ready` hold within `deadline_s`); returns time.monotonic() of
    the kill."""
    deadline = time.monotonic() + deadline_s
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the moment to kill the run never came"
        time.sleep(0.005)
    time.sleep(wait_s)
    os.kill(proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    proc.wait()
    return killed_at


def stored_rows(store: Path, sql: str) -> list[tuple]:
    """The rows `sql` selects from a store, opened as a writer: that replays the WAL a killed
    writer left."""
    con = open_store(store)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
