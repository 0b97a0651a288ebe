"""Label geometry: how wide a label is drawn and where the group names under a chart go."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Generous advances of sans-serif characters (in em; DejaVu Sans, the widest common default,
# stays within them), and the part of a line above and below its baseline, so computed boxes
# contain the drawn text.
_NARROW = set("fijltI.,:;'|!()[] ")
_WIDE = set("mwMW@%#&+<=>^~")
BOLD_FACTOR = 1.15
ASCENT_EM = 0.8
DESCENT_EM = 0.25
# Group labels that do not fit their slot are drawn at this angle (degrees, rising to the right).
LABEL_ANGLE = 40
# Space between the axis line and the anchors of rotated labels: their ascent, tilted, rises
# ASCENT_EM * size * cos(angle) above the anchor.
LABEL_GAP = 12


def _char_em(ch: str) -> float:
    if ch in _NARROW:
        return 0.46
    if ch in _WIDE or not ch.isascii():
        return 1.0
    return 0.8 if ch.isupper() else 0.64


def text_width(s: str, size: float, bold: bool = False) -> float:
    return sum(map(_char_em, s)) * size * (BOLD_FACTOR if bold else 1.0)


def wrap(label: str, width: int) -> list[str]:
    """Split a label into lines of about `width` characters (after " / " first)."""
    parts = []
    for chunk in label.split(" / "):
        line = ""
        for word in chunk.split():
            if line and len(line) + 1 + len(word) > width:
                parts.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        if line:
            parts.append(line)
    return parts


@dataclass
class GroupLabels:
    """Where the group names under a bar chart go: horizontal lines when every name fits its
    slot, otherwise one rotated line each, ending under its group."""
    lines: list[list[str]]  # per group: the lines of its label (one when rotated)
    rotated: bool
    depth: float  # the height the labels need below the axis
    overhang: float  # how far the labels reach left of the room given them (0 when inside)


def group_labels(names: list[str], slot: float, room: float, size: float = 10) -> GroupLabels:
    """`room`: the width left of the first slot the labels may use (under the y axis's tick
    labels, which end above them)."""
    wrapped = [wrap(name, 12) for name in names]
    if all(len(lines) <= 3 and all(text_width(line, size) <= slot - 4 for line in lines)
           for lines in wrapped):
        return GroupLabels(wrapped, False, 13 + 11 * max((len(w) for w in wrapped), default=1),
                           0.0)
    a = math.radians(LABEL_ANGLE)
    # A rotated label's box, measured from its anchor (the end of its baseline): it runs
    # down-left for its width; the glyphs' ascent sticks out up-left, their descent down-right.
    down = [text_width(n, size) * math.sin(a) + DESCENT_EM * size * math.cos(a) for n in names]
    reach = [text_width(n, size) * math.cos(a) + ASCENT_EM * size * math.sin(a)
             - slot * (g + 0.5) for g, n in enumerate(names)]
    return GroupLabels([[n] for n in names], True, LABEL_GAP + max(down, default=0.0) + 4,
                       max(0.0, max(reach, default=0.0) - room))
