"""The paper's built-in prompts (METHOD.md section 3) as whole PromptPlans.

The texts themselves live once, in steerdsl.plan.prompts (the front end fills plans from
there); this module only assembles them, for callers that need a built-in prompt without a
spec (tests, benchmarks, judges).
"""

from __future__ import annotations

from steerdsl.plan.model import Phrase, PromptPlan
from steerdsl.plan.prompts import (
    COT_ANSWER_AFTER,
    COT_TEXT,
    DEFAULT_MODIFIERS,
    NEGATIVE_TEXT,
    NO_CHANGE,
    NO_EXPLAIN_TEXT,
    VAGUE_REQUESTS,
    base_template,
)

# The paper's phrase table (delta > 0, delta < 0), by the paper's goal names.
PAPER_PHRASES: dict[str, Phrase] = {
    "reading_difficulty": Phrase(up="harder to read", down="easier to read"),
    "textual_diversity": Phrase(up="use more diverse language", down="use less diverse language"),
    "text_length": Phrase(up="longer", down="shorter"),
    "formality": Phrase(up="more formal", down="more informal"),
}


def builtin_prompt(base: str, phrases: dict[str, Phrase] | None = None,
                   name: str | None = None) -> PromptPlan:
    """The PromptPlan of a built-in strategy ("direct", "underspecified" or "cot"), the same
    as the plan builder makes for a spec that uses it."""
    if base not in ("direct", "underspecified", "cot"):
        raise ValueError(f"unknown built-in prompt {base!r}")
    cot = base == "cot"
    return PromptPlan(
        name=name or base, base=base, template=base_template(base),
        phrases=dict(PAPER_PHRASES if phrases is None else phrases),
        modifiers=list(DEFAULT_MODIFIERS), no_change=NO_CHANGE,
        vague_requests=list(VAGUE_REQUESTS) if base == "underspecified" else [],
        negative_text=NEGATIVE_TEXT, no_explain_text=NO_EXPLAIN_TEXT,
        cot_text=COT_TEXT if cot else None, answer_after=COT_ANSWER_AFTER if cot else None)
