"""The terminal review: one item at a time (source, rewrite, verdict, rationale), one key per
decision. Each decision is written before the next item shows, so quitting, Ctrl-C or a kill
loses nothing and the next session starts at the first undecided item."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from steerdsl.store.reviews import ReviewItem, record_decision

KEYS = {"a": "approve", "r": "reject", "s": "skip", "q": "quit"}
_VERDICT_STYLE = {"yes": "green", "no": "red"}


@dataclass
class Tally:
    decided: Counter = field(default_factory=Counter)  # decision -> how many
    skipped: int = 0
    quit: bool = False


def read_key() -> str:
    """One key press from the terminal (see `keys_without_enter`); end of input is quit."""
    data = os.read(sys.stdin.fileno(), 1)
    return data.decode("utf-8", errors="replace") if data else "q"


@contextmanager
def keys_without_enter() -> Iterator[None]:
    """The terminal in cbreak mode for the whole review (keys arrive without Enter, Ctrl-C
    still stops), set once without flushing: keys typed ahead are kept, not dropped."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def review_items_in_terminal(con, items: list[ReviewItem], console=None,
                             key: Callable[[], str] = read_key) -> Tally:
    """Show each item and record the decision its key asks for; stop at `q`."""
    from rich.console import Console

    console = console or Console(highlight=False)
    tally = Tally()
    for position, item in enumerate(items, 1):
        console.clear()
        console.print(_render(item, position, len(items)))
        choice = _choice(key)
        if choice == "quit":
            tally.quit = True
            break
        if choice == "skip":
            tally.skipped += 1
            continue
        record_decision(con, item, choice)
        tally.decided[choice] += 1
    console.clear()
    return tally


def _choice(key: Callable[[], str]) -> str:
    while True:
        pressed = key().lower()
        if pressed in KEYS:
            return KEYS[pressed]


def _render(item: ReviewItem, position: int, total: int):
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    head = Text()
    head.append(f"{position} of {total}", style="bold")
    head.append(f"   {item.model}/{item.intervention}  row {item.row_id}  sample {item.sample}")
    texts = Table.grid(expand=True, padding=(0, 1))
    texts.add_column(ratio=1)
    texts.add_column(ratio=1)
    texts.add_row(Panel(Text(item.source or "(text not stored)"), title="source"),
                  Panel(Text(item.rewrite or "(text not stored)"), title="rewrite"))
    verdict = Text("verdict: ")
    verdict.append(item.verdict_label, style=_VERDICT_STYLE.get(item.verdict or "", "yellow"))
    why = Text(("rationale: " if item.rationale else "judge's answer: ") + item.explanation)
    keys = Text("[a] approve (grounded)   [r] reject (not grounded)   [s] skip   [q] quit",
                style="bold")
    return Group(head, texts, verdict, why, Text(""), keys)
