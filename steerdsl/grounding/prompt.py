"""The question a groundedness judge is asked: the judge's template with the two versions
filled in, and which version is shown first.

`order random` shows each answer once, as version A or B by a draw from the seed, the judge's
name and the two texts (so a rerun, or another spec with the same judge, asks the very same
question); `order both` asks twice, both ways."""

from __future__ import annotations

import re

from steerdsl.plan.hashing import derive_seed
from steerdsl.plan.model import JudgePlan

_PLACEHOLDER = re.compile(r"\{version_(a|b)\}")


def render_judge_prompt(template: str, source: str, answer: str, swapped: bool) -> str:
    """`swapped`: the answer is version A and the source version B. One pass over the
    template, so braces in the texts (or a JSON example in the template) are left alone."""
    a, b = (answer, source) if swapped else (source, answer)
    return _PLACEHOLDER.sub(lambda m: a if m.group(1) == "a" else b, template)


def drawn_swap(seed: int, judge_name: str, source_hash: str, answer_hash: str) -> bool:
    return derive_seed(seed, "judge-order", judge_name, source_hash, answer_hash) % 2 == 1


def orders(judge: JudgePlan, seed: int, source_hash: str, answer_hash: str) -> list[bool]:
    """The `swapped` flags of the questions asked about one answer."""
    if judge.order == "both":
        return [False, True]
    return [drawn_swap(seed, judge.name, source_hash, answer_hash)]
