"""Progress display for `steerdsl run`: one rich bar per stage, quiet when not on a terminal."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

from steerdsl.words import count


class StageProgress:
    """What a stage reports: done/total, errors, and why it waits. The runtime calls
    `update(done, total)`, `error()` and `status(text)`; the display decides how to show it."""

    def __init__(self, name: str, bar=None, task=None, stream=None):
        self.name = name
        self.done = 0
        self.total = 0
        self.errors = 0
        self.state = ""
        self._bar = bar
        self._task = task
        self._stream = stream
        self._last_line = 0.0

    def __call__(self, done: int, total: int) -> None:  # measure_texts' progress(done, total)
        self.update(done, total)

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        self._refresh()

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def error(self, n: int = 1) -> None:
        self.errors += n
        self._refresh()

    def status(self, text: str) -> None:
        self.state = text
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            extra = f" errors {self.errors}" if self.errors else ""
            extra += f" {self.state}" if self.state else ""
            self._bar.update(self._task, completed=self.done, total=self.total or None,
                             extra=extra)
        elif self._stream is not None:
            now = time.monotonic()
            # Without a terminal, a line every few seconds is enough for logs.
            if now - self._last_line > 5 or (self.total and self.done >= self.total):
                self._last_line = now
                err = f", {count(self.errors, 'error')}" if self.errors else ""
                print(f"  {self.name}: {self.done}/{self.total}{err} {self.state}".rstrip(),
                      file=self._stream, flush=True)


class Display:
    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.interactive = sys.stderr.isatty() and not quiet
        self._progress = None

    @contextmanager
    def session(self) -> Iterator["Display"]:
        if self.interactive:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            from rich.console import Console

            # Bars on stderr, like every other message: stdout carries only the summary.
            with Progress(TextColumn("{task.description:<28}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(),
                          TextColumn("{task.fields[extra]}"), transient=False,
                          console=Console(stderr=True)) as p:
                self._progress = p
                yield self
            self._progress = None
        else:
            yield self

    def stage(self, name: str, total: int = 0) -> StageProgress:
        if self._progress is not None:
            task = self._progress.add_task(name, total=total or None, extra="")
            return StageProgress(name, self._progress, task)
        sp = StageProgress(name, stream=None if self.quiet else sys.stderr)
        sp.total = total
        return sp

    def warn(self, text: str) -> None:
        """A message on stderr, also when quiet: a warning, or what failed and what to do,
        is not progress. Messages quote servers, goals and files: never raw control
        characters on the terminal."""
        from steerdsl.lang.diagnostics import printable

        text = printable(text, keep="\n")
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def say(self, text: str) -> None:
        if not self.quiet:
            self.warn(text)
