"""What a prompt can say about the size of a move: its modifiers cut |delta| in (0, 1] into
word buckets ("slightly" below 0.2, nothing, "much" above 0.5 by default). A request can only
ask for one of these; calibration chooses among them."""

from __future__ import annotations

from dataclasses import dataclass

from steerdsl.plan.model import Modifier
from steerdsl.prompts.render import modifier


@dataclass(frozen=True)
class Bucket:
    """|delta| in (lo, hi) gets the modifier `word` ("" = no modifier); `asked` is the middle,
    the delta a calibrated request puts in the prompt to say these words."""

    word: str
    lo: float
    hi: float

    @property
    def asked(self) -> float:
        return (self.lo + self.hi) / 2


def buckets(modifiers: list[Modifier]) -> list[Bucket]:
    """The word buckets of |delta| in (0, 1], by increasing magnitude; adjacent intervals
    with the same word are one bucket."""
    cuts = sorted({0.0, 1.0} | {m.threshold for m in modifiers if 0.0 < m.threshold < 1.0})
    out: list[Bucket] = []
    for lo, hi in zip(cuts, cuts[1:]):
        word = modifier((lo + hi) / 2, modifiers) or ""
        if out and out[-1].word == word:
            out[-1] = Bucket(word, out[-1].lo, hi)
        else:
            out.append(Bucket(word, lo, hi))
    return out
