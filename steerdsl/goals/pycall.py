"""Calling a Python goal's function on texts: user code, contained.

The function runs in a forked child process, one text at a time, the parent waiting at most
the goal's timeout for each value. Whatever the function does (raise any exception, call
sys.exit, return something that is not a finite number, hang, kill its own process) costs
that text only: its value becomes an error naming the goal's function, and the remaining
texts go on in a new child. The child's stdout goes to stderr, so a print() in a goal never
mixes with the caller's output (`steerdsl measure --json`).

Fork, not a thread or an alarm: only a process can be stopped in the middle of C code, and
only a separate process survives os._exit or a crash. The child starts with the goal's module
already imported (the parent imported it, so import errors are the parent's to report).
"""

from __future__ import annotations

import math
import multiprocessing
import numbers
import os
import signal
import sys
from collections.abc import Callable, Sequence

Result = tuple[float, str | None]  # (value, None) or (NaN, error message)


def call_python_goal(func: Callable[[str], object], texts: Sequence[str], *, what: str,
                     timeout: float) -> list[Result]:
    """func(text) for each text as a number, or the error it gave; `what` names the function
    in messages ("mymeasures:exclamations")."""
    results: list[Result] = []
    while len(results) < len(texts):
        results += _run_child(func, texts, len(results), what, timeout)
    return results


def _run_child(func, texts: Sequence[str], start: int, what: str, timeout: float
               ) -> list[Result]:
    """Results from texts[start] on, until all are done or one times out or kills the child
    (that one's result is the last)."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(func, texts, start, what, send))
    child.start()
    send.close()
    out: list[Result] = []
    try:
        while start + len(out) < len(texts):
            if not receive.poll(timeout):
                out.append((math.nan, f"{what} took longer than {timeout:g} s (the goal's "
                                      "timeout: set it with `timeout SECONDS` after the "
                                      "python reference)"))
                break
            try:
                out.append(receive.recv())
            except EOFError:  # the child ended without sending this text's value
                child.join()
                out.append((math.nan, f"{what} ended its process ({_ending(child.exitcode)})"))
                break
    finally:  # also on Ctrl-C in the parent: never leave the child running
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    return out


def _ending(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _child(func, texts: Sequence[str], start: int, what: str, send) -> None:
    # Ctrl-C is the parent's: it stops the child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # stdout to stderr, at the file descriptor too (C code, subprocesses). New file objects:
    # the inherited ones may hold a lock that another thread of the parent had at fork time.
    os.dup2(2, 1)
    sys.stdout = sys.stderr = open(2, "w", buffering=1, closefd=False,
                                   errors="backslashreplace")
    for text in texts[start:]:
        send.send(call_one(func, text, what))
    send.close()


def call_one(func: Callable[[str], object], text: str, what: str) -> Result:
    try:
        value = func(text)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # SystemExit too: a goal's exit is that text's error
        detail = f": {e}" if str(e) else ""
        return math.nan, f"{what} raised {type(e).__name__}{detail}"
    return as_number(value, what)


def as_number(value, what: str) -> Result:
    """A returned value as a finite float, or why it is none."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan, f"{what} returned {type(value).__name__}, not a number"
    try:
        v = float(value)
    except OverflowError:
        return math.nan, f"{what} returned a number too large for a float"
    except (ValueError, TypeError) as e:
        return math.nan, f"{what} returned {type(value).__name__}, not a number ({e})"
    if not math.isfinite(v):
        return math.nan, f"{what} returned {v}, not a finite number"
    return v, None
